"""Native API: webhook endpoints, deliveries, attempts, replays and the event feed.

Thin views: validate, call a service or selector, render. Another tenant's object, or the other
environment's (webhooks.selectors), is a 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TenantAPIView
from core.pagination import paginated
from core.params import query_params
from fiscal.selectors import note_get
from tenants import selectors as tenant_selectors
from webhooks import selectors
from webhooks.endpoints import (
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)
from webhooks.models import Endpoint
from webhooks.replay import delivery_replay, endpoint_replay_failed, note_replay
from webhooks.serializers import (
    AttemptOutputSerializer,
    DeliveryListQuerySerializer,
    DeliveryOutputSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    EndpointWithSecretSerializer,
    EventFeedQuerySerializer,
    EventFeedSerializer,
    EventOutputSerializer,
    NoteReplayInputSerializer,
    ReplayCountSerializer,
    ReplaySinceInputSerializer,
)


def _endpoint_data(view: TenantAPIView, validated: dict) -> dict:
    """Input field names to service arguments; the company must be the tenant's."""
    data = dict(validated)
    if "empresa_id" in data:
        empresa_id = data.pop("empresa_id")
        data["empresa"] = (
            tenant_selectors.empresa_get(tenant=view.tenant, pk=empresa_id)
            if empresa_id is not None else None
        )
    return data


def _with_secret(endpoint: Endpoint, secret: str) -> dict:
    return EndpointWithSecretSerializer(endpoint, context={"secret": secret}).data


class EndpointListCreateApi(TenantAPIView):
    error_statuses = {"post": (404,)}  # empresa_id names no company of the tenant

    @extend_schema(operation_id="webhook_endpoints_list",
                   responses=EndpointOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoint_list(tenant=self.tenant, environment=self.environment)
        return paginated(self, endpoints, EndpointOutputSerializer)

    @extend_schema(operation_id="webhook_endpoints_create", request=EndpointInputSerializer,
                   responses={201: EndpointOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = EndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = endpoint_create(
            tenant=self.tenant, environment=self.environment,
            **_endpoint_data(self, serializer.validated_data),
        )
        return Response(_with_secret(created.endpoint, created.secret),
                        status=status.HTTP_201_CREATED)


class EndpointDetailApi(TenantAPIView):
    @extend_schema(operation_id="webhook_endpoints_retrieve", responses=EndpointOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_update", request=EndpointInputSerializer,
                   responses=EndpointOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        serializer = EndpointInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_update(
            endpoint=endpoint, data=_endpoint_data(self, serializer.validated_data)
        )
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_delete", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointTestApi(TenantAPIView):
    @extend_schema(operation_id="webhook_endpoints_test", request=None,
                   responses={202: DeliveryOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        delivery = endpoint_send_test(endpoint=endpoint)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EndpointRotateSecretApi(TenantAPIView):
    @extend_schema(operation_id="webhook_endpoints_rotate_secret", request=None,
                   responses=EndpointOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        secret = endpoint_rotate_secret(endpoint=endpoint)
        return Response(_with_secret(endpoint, secret))


class EndpointEnableApi(TenantAPIView):
    error_statuses = {"post": (409,)}  # a deleted endpoint

    @extend_schema(operation_id="webhook_endpoints_enable", request=None,
                   responses=EndpointOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        endpoint = endpoint_enable(
            endpoint=selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        )
        return Response(EndpointOutputSerializer(endpoint).data)


class EndpointDisableApi(TenantAPIView):
    @extend_schema(operation_id="webhook_endpoints_disable", request=None,
                   responses=EndpointOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        endpoint_disable(endpoint=endpoint, reason="Disabled by the tenant.",
                                  notify=False)
        endpoint.refresh_from_db()
        return Response(EndpointOutputSerializer(endpoint).data)


class EndpointReplayFailedApi(TenantAPIView):
    @extend_schema(operation_id="webhook_endpoints_replay_failed",
                   request=ReplaySinceInputSerializer, responses=ReplayCountSerializer)
    def post(self, request: Request, pk: int) -> Response:
        endpoint = selectors.endpoint_get(tenant=self.tenant, environment=self.environment, pk=pk)
        serializer = ReplaySinceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = endpoint_replay_failed(
            endpoint=endpoint, since=serializer.validated_data["since"]
        )
        return Response({"replayed": count})


class DeliveryListApi(TenantAPIView):
    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[
            OpenApiParameter("endpoint", int), OpenApiParameter("state", str),
            OpenApiParameter("event", int), OpenApiParameter("note", int),
        ],
        responses=DeliveryOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = query_params(request, DeliveryListQuerySerializer)
        qs = selectors.delivery_list(
            tenant=self.tenant, environment=self.environment, endpoint_id=filters.get("endpoint"),
            state=filters.get("state"), event_id=filters.get("event"), note_id=filters.get("note"),
        )
        return paginated(self, qs, DeliveryOutputSerializer)


class DeliveryDetailApi(TenantAPIView):
    @extend_schema(operation_id="webhook_deliveries_retrieve", responses=DeliveryOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, environment=self.environment, pk=pk)
        return Response(DeliveryOutputSerializer(delivery).data)


class DeliveryAttemptListApi(TenantAPIView):
    @extend_schema(operation_id="webhook_delivery_attempts_list",
                   responses=AttemptOutputSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, environment=self.environment, pk=pk)
        return paginated(self, selectors.attempt_list(delivery=delivery), AttemptOutputSerializer)


class DeliveryReplayApi(TenantAPIView):
    error_statuses = {"post": (409,)}  # a delivery that is sending or cancelled

    @extend_schema(operation_id="webhook_deliveries_replay", request=None,
                   responses={202: DeliveryOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        delivery = selectors.delivery_get(tenant=self.tenant, environment=self.environment, pk=pk)
        delivery = delivery_replay(delivery=delivery)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EventFeedApi(TenantAPIView):
    @extend_schema(
        operation_id="events_feed",
        parameters=[
            OpenApiParameter("after", int, description="Sequence of the last event you have."),
            OpenApiParameter("limit", int), OpenApiParameter("type", str, many=True),
        ],
        responses=EventFeedSerializer,
    )
    def get(self, request: Request) -> Response:
        query = query_params(request, EventFeedQuerySerializer)
        after, limit = query["after"], query["limit"]
        # Keyset on the sequence: ascending, one query however far behind the reader is.
        rows = list(selectors.event_feed(
            tenant=self.tenant, environment=self.environment, after=after,
            types=query.get("type"),
        )[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        next_after = rows[-1].sequence if rows else after
        next_url = None
        if has_more:
            params = request.query_params.copy()
            params["after"] = str(next_after)
            params.pop("token", None)  # never echo a key in a URL
            next_url = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response({
            "results": EventOutputSerializer(rows, many=True).data,
            "next_after": next_after,
            "has_more": has_more,
            "next": next_url,
        })


class EventDetailApi(TenantAPIView):
    @extend_schema(operation_id="events_retrieve", responses=EventOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        event = selectors.event_get(tenant=self.tenant, environment=self.environment, pk=pk)
        return Response(EventOutputSerializer(event).data)


class NoteReplayApi(TenantAPIView):
    error_statuses = {"post": (404,)}  # the body names a note that is not there

    @extend_schema(operation_id="events_replay_note", request=NoteReplayInputSerializer,
                   responses={202: ReplayCountSerializer})
    def post(self, request: Request) -> Response:
        serializer = NoteReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = note_get(tenant=self.tenant, environment=self.environment,
                                  pk=serializer.validated_data["note_id"])
        count = note_replay(tenant=self.tenant, note=note)
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)
