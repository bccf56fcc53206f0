from __future__ import annotations

from django.urls import path, re_path

from fiscal.validation import DOC_TYPE_PATTERN, REF_PATTERN
from webhooks import api, facade

urlpatterns = [
    # --- native API
    path("api/v1/webhook-endpoints", api.EndpointListCreateApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>", api.EndpointDetailApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>/test", api.EndpointTestApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>/rotate-secret",
         api.EndpointRotateSecretApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>/enable", api.EndpointEnableApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>/disable", api.EndpointDisableApi.as_view()),
    path("api/v1/webhook-endpoints/<int:pk>/replay-failed",
         api.EndpointReplayFailedApi.as_view()),
    path("api/v1/webhook-deliveries", api.DeliveryListApi.as_view()),
    path("api/v1/webhook-deliveries/<int:pk>", api.DeliveryDetailApi.as_view()),
    path("api/v1/webhook-deliveries/<int:pk>/attempts", api.DeliveryAttemptListApi.as_view()),
    path("api/v1/webhook-deliveries/<int:pk>/replay", api.DeliveryReplayApi.as_view()),
    path("api/v1/events", api.EventFeedApi.as_view()),
    path("api/v1/events/replay", api.NoteReplayApi.as_view()),
    path("api/v1/events/<int:pk>", api.EventDetailApi.as_view()),
    # --- Focus-compatible facade
    path("v2/hooks", facade.HooksFacade.as_view()),
    path("v2/hooks/<str:hook_id>", facade.HookFacade.as_view()),
    re_path(
        rf"^v2/(?P<doc_type>{DOC_TYPE_PATTERN})/(?P<ref>{REF_PATTERN})/hook$",
        facade.NoteHookResendFacade.as_view(),
    ),
]
