"""API views for payments (one view per operation). Routes in ``urlpatterns``."""

urlpatterns: list = []
