"""IoT Hub's cloud-to-device queue: held while the device cannot receive, delivered in order
when it connects and subscribes (or reconnects with a persistent session), limited to 50
messages, dropped when its time to live ends."""

import pytest

from harness.errors import InputError
from harness.hub.c2dqueue import C2DMessage, C2DQueue


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def msg(n, device="d1", ttl=60.0, t=1000.0):
    return C2DMessage(device, f"m{n}", f"devices/{device}/messages/devicebound/%24.mid=m{n}", b"x", t, t + ttl)


def test_offline_messages_wait_and_come_out_in_order_on_subscribe():
    q = C2DQueue(clock=Clock())
    assert [q.offer(msg(i)) for i in range(3)] == [False, False, False]
    assert q.depth("d1") == 3
    assert q.subscribed("d1", ["$iothub/methods/POST/#"]) == []      # not the C2D topic
    assert q.subscribed("d2", ["devices/d1/messages/devicebound/#"]) == []  # another device's filter
    assert [m.message_id for m in q.subscribed("d1", ["devices/d1/messages/devicebound/#"])] == ["m0", "m1", "m2"]
    assert q.depth("d1") == 0
    assert q.offer(msg(3)) is True   # receiving: straight through
    q.disconnected("d1")
    assert q.offer(msg(4)) is False


@pytest.mark.parametrize("topic_filter, covers", [
    ("devices/d1/messages/devicebound/#", True), ("devices/d1/messages/devicebound/+", True),
    ("devices/d1/#", True), ("devices/d1/messages/events/#", False), ("devices/d10/messages/devicebound/#", False)])
def test_which_subscriptions_receive_c2d(topic_filter, covers):
    assert C2DQueue.covers_c2d("d1", topic_filter) is covers


def test_a_persistent_session_receives_on_reconnect_a_clean_one_after_subscribing():
    q = C2DQueue(clock=Clock())
    q.subscribed("d1", ["devices/d1/messages/devicebound/#"])
    q.disconnected("d1")
    q.offer(msg(1))
    assert [m.message_id for m in q.connected("d1", clean_session=False)] == ["m1"]
    q.disconnected("d1")
    q.offer(msg(2))
    assert q.connected("d1", clean_session=True) == []   # a clean session must subscribe again
    assert q.connected("d1", clean_session=False) == []  # ... and the old subscription is gone
    assert [m.message_id for m in q.subscribed("d1", ["devices/d1/messages/devicebound/#"])] == ["m2"]
    q.broker_restarted()
    assert q.offer(msg(3)) is False


def test_the_queue_holds_fifty_and_refuses_the_fifty_first():
    q = C2DQueue(clock=Clock())
    for i in range(50):
        q.offer(msg(i))
    with pytest.raises(InputError, match="d1: cloud-to-device queue is full .*403004"):
        q.offer(msg(50))
    assert q.depth("d1") == 50 and q.offer(msg(0, device="d2")) is False  # other devices unaffected


def test_messages_expire_after_their_time_to_live():
    clock = Clock()
    q = C2DQueue(clock=clock)
    q.offer(msg(1, ttl=5))
    q.offer(msg(2, ttl=50))
    clock.now += 10
    assert [m.message_id for m in q.take_expired()] == ["m1"]
    assert q.take_expired() == []
    assert [m.message_id for m in q.subscribed("d1", ["devices/d1/messages/devicebound/#"])] == ["m2"]
    for i in range(50):  # expired ones free their places
        q.disconnected("d1")
        q.offer(msg(10 + i, ttl=1, t=clock.now))
    clock.now += 2
    assert q.offer(msg(99, t=clock.now)) is False
    assert len(q.take_expired()) == 50 and q.depth("d1") == 1
