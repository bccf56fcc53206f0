"""A delivery moves only along DELIVERY_TRANSITIONS, and only from the state it is still in."""

from __future__ import annotations

import pytest

from tests.conftest import Actor
from tests.webhooks.conftest import create_endpoint, make_note, publish_note
from webhooks.dispatch import delivery_move
from webhooks.models import DELIVERY_TRANSITIONS, Delivery, DeliveryState


@pytest.mark.parametrize(("source", "target"), [
    (DeliveryState.CANCELLED, DeliveryState.PENDING),
    (DeliveryState.SUCCEEDED, DeliveryState.SENDING),
    (DeliveryState.FAILED, DeliveryState.SUCCEEDED),
    (DeliveryState.PENDING, DeliveryState.SUCCEEDED),
])
def test_a_move_the_table_does_not_allow_is_refused_before_any_write(
    actor: Actor, empresa, receiver, source: str, target: str
) -> None:
    assert target not in DELIVERY_TRANSITIONS[source]
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(state=source)
    with pytest.raises(ValueError, match=f"a {source} delivery cannot become {target}"):
        delivery_move(delivery.pk, source=source, target=target)
    assert Delivery.objects.get(pk=delivery.pk).state == source


def test_a_move_from_a_state_the_delivery_left_does_nothing(
    actor: Actor, empresa, receiver
) -> None:
    create_endpoint(actor, receiver.url())
    publish_note(make_note(empresa))
    delivery = Delivery.objects.get()
    assert delivery_move(delivery.pk, source=DeliveryState.PENDING,
                         target=DeliveryState.SENDING, claim_token="a") is True
    # A second dispatcher that read the row as pending loses: the row is sending now.
    assert delivery_move(delivery.pk, source=DeliveryState.PENDING,
                         target=DeliveryState.SENDING, claim_token="b") is False
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENDING and delivery.claim_token == "a"
