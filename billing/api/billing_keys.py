"""API views for billing keys (one view per operation). Routes in ``urlpatterns``."""

urlpatterns: list = []
