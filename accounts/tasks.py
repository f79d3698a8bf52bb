from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def purge_expired_tokens() -> int:
    """Expired API tokens are refused when presented; this removes the ones nobody presents."""
    return services.api_tokens_purge_expired()
