"""Staff members' saved queue filters: superusers may look at them and delete one (a
filter that no longer fits, a departed user's); nobody adds or edits them here, each
user keeps their own on the queue pages."""

from django.contrib import admin

from escalations.models import SavedQueueFilter


@admin.register(SavedQueueFilter)
class SavedQueueFilterAdmin(admin.ModelAdmin):
    list_display = ["user", "queue", "name", "query", "updated_at"]
    list_filter = ["queue"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username"]
    readonly_fields = ["user", "queue", "name", "query", "updated_at"]
    show_full_result_count = False

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
