"""The shop hears of every order event (issue 24; promise 12's webhook half): a transfer
through the real receiver and processor, `Order Paid` on the bus, the template's
notification rule, and the real notifier handler POSTing to a shop on loopback that checks
every webhook with the official `standardwebhooks` verifier, never the project's code."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.wrappers import Request, Response

from casso_payments.notify.log import NotificationLog
from local.cli.sample_events import V1_ITEM
from local.stack.handler import LocalContext
from local.stack.loopback import LoopbackServer
from local.stack.poller import drain, drain_queue
from local.stack.shop import LocalShop
from tests.integration.test_ops import ops, stack_with_outputs

pytestmark = pytest.mark.integration

PAID_DH35 = {**V1_ITEM, "id": 41, "amount": 200_500, "description": "MBVCB.3278841.DH35 ck"}
BOT_TOKEN = "123456:local-test-token"
Run = Callable[[], None]


def signing_secret(stack: Any) -> str:
    """The secret the template generated, as the shop is given it (whsec_ + the value)."""
    value = stack.secretsmanager.get_secret_value(SecretId=stack.local.ref("NotifySecret"))
    return "whsec_" + json.loads(value["SecretString"])["signing_secret"]


@pytest.fixture
def shop(server_stack: Any) -> Iterator[LocalShop]:
    started = LocalShop(signing_secret(server_stack)).start()
    yield started
    started.stop()


@pytest.fixture
def notifier(server_stack: Any, load_function: Callable[..., Any]) -> Callable[..., Run]:
    """The real notifier handler, loaded with `overrides`, as a function that works its
    queue until it is empty (retries included: the schedule is 0 s locally here)."""

    def load(**overrides: str) -> Run:
        env = {"NOTIFY_ALLOW_LOOPBACK": "true", "RETRY_DELAYS_SECONDS": "0,0,0", **overrides}
        module = load_function("NotifierFunction", **env)
        url = server_stack.local.ref("NotificationQueue")
        arn = server_stack.local.resolver.attributes[("NotificationQueue", "Arn")]

        def invoke(event: dict[str, Any]) -> Any:
            return module.lambda_handler(
                event, LocalContext("NotifierFunction", timeout_seconds=60)
            )

        return lambda: drain(server_stack.sqs, url, arn, invoke) and None

    return load


def pay_dh35(pipeline: Any) -> None:
    assert pipeline.deliver(PAID_DH35) == 200
    pipeline.run_processor()
    assert pipeline.stack.orders.get("DH35").status == "PAID"


def log_of(stack: Any, order: str = "DH35") -> list[dict[str, Any]]:
    log = NotificationLog(stack.dynamodb, stack.local.ref("NotificationsTable"))
    return sorted(log.of_order(order), key=lambda i: (int(i["replay"]), int(i["attempt"])))


def dead_letters(stack: Any) -> list[Any]:
    return drain_queue(stack.sqs, stack.local.ref("NotificationDeadLetterQueue"))


def test_a_shop_down_twice_gets_the_event_once_under_one_webhook_id(
    pipeline, server_stack, shop, notifier, capsys
):
    shop.fail_next(500, 500)
    run = notifier(NOTIFY_URL=shop.url)
    pay_dh35(pipeline)
    run()
    assert [r.status for r in shop.received] == [500, 500, 200]
    assert all(r.verified for r in shop.received)
    assert len({r.webhook_id for r in shop.received}) == 1
    (accepted,) = shop.accepted()
    assert accepted.type == "order.paid"
    assert accepted.body["data"]["order_code"] == "DH35"
    assert accepted.body["data"]["transaction_id"] == 41
    assert accepted.body["data"]["paid_amount"] == 200_500
    # What the shop's own code would do with the raw request: the official verifier.
    assert Webhook(shop.secret).verify(accepted.raw, accepted.headers) is not None
    assert [(i["attempt"], i["outcome"], i["status"]) for i in log_of(server_stack)] == [
        (1, "retrying", 500),
        (2, "retrying", 500),
        (3, "delivered", 200),
    ]
    assert dead_letters(server_stack) == []
    # What NotificationsFailingAlarm reads, as the real handler emits it.
    assert (
        emitted(capsys.readouterr().out, "NotificationAttemptsFailed")
        == [{"service": "casso-notifier", "NotificationAttemptsFailed": [1.0]}] * 2
    )


def emitted(output: str, metric: str) -> list[dict[str, Any]]:
    """The EMF lines publishing `metric`: its dimensions and values."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [
        {k: v for k, v in line.items() if k != "_aws"}
        for line in lines
        if any(m["Name"] == metric for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"])
    ]


def test_the_same_event_published_again_reaches_the_shop_under_the_same_id(
    pipeline, server_stack, shop, notifier
):
    run = notifier(NOTIFY_URL=shop.url)
    pay_dh35(pipeline)
    # The one rare copy a crash between publish and commit can cause: the same event again.
    (event,) = [e for e in _tapped(server_stack) if e["detail-type"] == "Order Paid"]
    server_stack.sqs.send_message(
        QueueUrl=server_stack.local.ref("NotificationQueue"), MessageBody=json.dumps(event)
    )
    run()
    assert len(shop.received) == 2
    assert len({r.webhook_id for r in shop.received}) == 1
    assert len(shop.accepted()) == 1


def _tapped(stack: Any) -> list[dict[str, Any]]:
    return drain_queue(stack.sqs, stack.events_tap_url)


def test_410_gone_stops_the_retries(pipeline, server_stack, shop, notifier):
    shop.fail_next(410)
    run = notifier(NOTIFY_URL=shop.url)
    pay_dh35(pipeline)
    run()
    assert [r.status for r in shop.received] == [410]
    assert [i["outcome"] for i in log_of(server_stack)] == ["stopped"]
    assert dead_letters(server_stack) == []


def test_after_the_schedule_the_notification_is_dead_lettered(
    pipeline, server_stack, shop, notifier
):
    shop.fail_next(503, 503, 503)
    run = notifier(NOTIFY_URL=shop.url, RETRY_DELAYS_SECONDS="0,0")
    pay_dh35(pipeline)
    run()
    assert [r.status for r in shop.received] == [503, 503, 503]
    assert [i["outcome"] for i in log_of(server_stack)] == ["retrying", "retrying", "failed"]
    (dead,) = dead_letters(server_stack)
    assert dead["notification"]["webhook_id"] == shop.received[0].webhook_id


def test_a_redirect_is_not_followed(pipeline, server_stack, shop, notifier):
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return Response("", status=302, headers={"Location": shop.url})(environ, start_response)

    with LoopbackServer(app, what="redirecting shop") as redirecting:
        run = notifier(NOTIFY_URL=redirecting.base_url + "/hooks", RETRY_DELAYS_SECONDS="0")
        pay_dh35(pipeline)
        run()
    assert shop.received == []
    assert [(i["status"], i["outcome"]) for i in log_of(server_stack)] == [
        (302, "retrying"),
        (302, "failed"),
    ]


def test_the_orders_own_notify_url_wins_over_the_stacks(pipeline, server_stack, shop, notifier):
    other = LocalShop(shop.secret).start()
    try:
        server_stack.dynamodb.update_item(
            TableName=server_stack.orders_table,
            Key={"pk": {"S": "DH35"}},
            UpdateExpression="SET notify_url = :u",
            ExpressionAttributeValues={":u": {"S": other.url}},
        )
        run = notifier(NOTIFY_URL=shop.url)
        pay_dh35(pipeline)
        run()
        assert shop.received == []
        assert [r.type for r in other.accepted()] == ["order.paid"]
    finally:
        other.stop()


def test_deployed_the_guard_refuses_a_loopback_url_and_never_calls_it(
    pipeline, server_stack, shop, notifier
):
    run = notifier(
        NOTIFY_URL=shop.url.replace("http://", "https://"), NOTIFY_ALLOW_LOOPBACK="false"
    )
    pay_dh35(pipeline)
    run()
    assert shop.received == []
    (attempt,) = log_of(server_stack)
    assert attempt["outcome"] == "refused"
    assert "loopback" in attempt["error"]
    assert len(dead_letters(server_stack)) == 1


@pytest.fixture
def telegram() -> Iterator[tuple[LoopbackServer, list[dict[str, Any]], list[int]]]:
    received: list[dict[str, Any]] = []
    script: list[int] = [500]  # down once, then up

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received.append({"path": request.path, "json": request.get_json()})
        status = script.pop(0) if script else 200
        return Response(json.dumps({"ok": status == 200}), status=status)(environ, start_response)

    server = LoopbackServer(app, what="fake Telegram").start()
    yield server, received, script
    server.stop()


def test_the_staff_hear_of_a_paid_order_on_telegram_in_vietnamese(
    pipeline, server_stack, notifier, telegram
):
    server, received, _ = telegram
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("TelegramSecret"),
        SecretString=json.dumps({"bot_token": BOT_TOKEN}),
    )
    run = notifier(NOTIFY_URL="", TELEGRAM_CHAT_ID="-100123", TELEGRAM_API_BASE_URL=server.base_url)
    pay_dh35(pipeline)
    run()
    assert [r["path"] for r in received] == [f"/bot{BOT_TOKEN}/sendMessage"] * 2
    assert received[-1]["json"] == {"chat_id": "-100123", "text": "Đơn DH35 đã thanh toán 200.500đ"}
    log = log_of(server_stack)
    assert [(i["channel"], i["outcome"]) for i in log] == [
        ("telegram", "retrying"),
        ("telegram", "delivered"),
    ]
    assert BOT_TOKEN not in json.dumps(log, default=str)


def deployed(server_stack: Any) -> str:
    """A deployed stack as `ops` sees it: outputs naming the test's notifier resources."""
    ref = server_stack.local.ref
    return stack_with_outputs(
        server_stack,
        NotificationsTableName=ref("NotificationsTable"),
        NotificationQueueUrl=ref("NotificationQueue"),
        NotificationDeadLetterQueueUrl=ref("NotificationDeadLetterQueue"),
        NotifySecretArn=ref("NotifySecret"),
    )


def test_a_dead_lettered_notification_replayed_reaches_the_shop_under_its_id(
    pipeline, server_stack, shop, notifier, moto_endpoint
):
    shop.fail_next(503, 503)
    run = notifier(NOTIFY_URL=shop.url, RETRY_DELAYS_SECONDS="0")
    pay_dh35(pipeline)
    run()
    assert shop.accepted() == []
    stack = deployed(server_stack)
    listed = ops(moto_endpoint, "notifications", "list", "--stack", stack, "--order", "dh-35")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("order.paid") == 2
    assert "failed" in listed.stdout
    webhook = shop.received[0].webhook_id
    failed = ops(moto_endpoint, "notifications", "list", "--stack", stack, "--failed")
    assert failed.returncode == 0, failed.stderr
    assert failed.stdout.count(webhook) == 2
    replayed = ops(moto_endpoint, "notifications", "replay", "--stack", stack, "--id", webhook)
    assert replayed.returncode == 0, replayed.stderr
    run()
    (accepted,) = shop.accepted()
    assert accepted.webhook_id == webhook
    assert accepted.raw == shop.received[0].raw  # the same body, byte for byte
    assert [i["replay"] for i in log_of(server_stack)] == [0, 0, 1]
    # Replaying what is delivered already: nothing (--failed); everything since: once more.
    since = ("--since", "2000-01-01T00:00:00Z")
    again = ops(moto_endpoint, "notifications", "replay", "--stack", stack, *since, "--failed")
    assert "nothing to replay" in again.stdout
    again = ops(moto_endpoint, "notifications", "replay", "--stack", stack, *since)
    assert again.stdout.count("replaying") == 1
    run()
    assert len(shop.accepted()) == 1  # the same webhook-id: the shop keeps it once
    assert len(shop.received) == 4


def test_during_a_rotation_both_keys_sign_and_finish_drops_the_old_one(
    pipeline, server_stack, shop, notifier, moto_endpoint
):
    old, stack = shop.secret, deployed(server_stack)
    rotated = ops(moto_endpoint, "notify-secret", "rotate", "--stack", stack)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.split("signing secret: ", 1)[1].split()[0]
    assert new.startswith("whsec_")
    assert new != old
    notifier(NOTIFY_URL=shop.url)  # a new execution environment reads the rotated secret
    pay_dh35(pipeline)
    notifier(NOTIFY_URL=shop.url)()
    (during,) = shop.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for key in (old, new):  # a shop on either key accepts it
        Webhook(key).verify(during.raw, during.headers)
    finished = ops(moto_endpoint, "notify-secret", "rotate", "--stack", stack, "--finish")
    assert finished.returncode == 0, finished.stderr
    assert "previous" not in finished.stdout
    assert pipeline.deliver({**PAID_DH35, "id": 42, "description": "DH36 ck", "amount": 1}) == 200
    pipeline.run_processor()
    notifier(NOTIFY_URL=shop.url)()
    after = shop.received[-1]
    assert after.type == "order.partially_paid"
    Webhook(new).verify(after.raw, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.raw, after.headers)
