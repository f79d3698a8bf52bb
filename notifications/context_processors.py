def inbox(request):
    """The bell's unread count, as a callable: only pages that draw the top bar query it."""
    user = getattr(request, "user", None)

    def unread() -> int:
        from .selectors import unread_count

        if not getattr(user, "is_authenticated", False):
            return 0
        return unread_count(user)

    return {"unread_notifications": unread}
