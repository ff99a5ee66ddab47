// AMQP 0-9-1 checks with amqplib (Node), the second client library the
// broker's tests use after pika. Run by `tests/amqp_amqplib.rs`:
//   node check.js AMQP_PORT MQTT_PORT
// Prints "ok <name>" per check and exits non-zero on the first failure.
"use strict";

const amqp = require("amqplib");
const { spawn } = require("node:child_process");
const assert = require("node:assert/strict");

const [amqpPort, mqttPort] = process.argv.slice(2);
const url = `amqp://guest:guest@127.0.0.1:${amqpPort}`;

/** Resolves with the first `count` messages consumed from `queue`. */
function take(channel, queue, count, options = { noAck: true }) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`timed out on ${queue}: got ${got.length} of ${count}`)), 10000);
    channel
      .consume(
        queue,
        (msg) => {
          got.push(msg);
          if (got.length === count) {
            clearTimeout(timer);
            channel.cancel(msg.fields.consumerTag).then(() => resolve(got), reject);
          }
        },
        options,
      )
      .catch(reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function confirms(conn) {
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue("am.confirmed", { durable: true });
  for (let i = 0; i < 50; i++) {
    ch.sendToQueue("am.confirmed", Buffer.from(`m${i}`), { persistent: true });
  }
  await ch.waitForConfirms();
  const q = await ch.checkQueue("am.confirmed");
  assert.equal(q.messageCount, 50);
  // A full reject-publish queue nacks.
  await ch.assertQueue("am.small", { arguments: { "x-max-length": 1, "x-overflow": "reject-publish" } });
  const results = await Promise.all(
    ["fits", "does not fit"].map(
      (body) => new Promise((resolve) => ch.sendToQueue("am.small", Buffer.from(body), {}, (err) => resolve(err ? "nack" : "ack"))),
    ),
  );
  assert.deepEqual(results, ["ack", "nack"]);
  await ch.close();
}

async function prefetch(conn) {
  const ch = await conn.createChannel();
  await ch.assertQueue("am.work");
  for (let i = 0; i < 5; i++) ch.sendToQueue("am.work", Buffer.from(`job${i}`));
  await ch.prefetch(2);
  const held = [];
  await ch.consume("am.work", (msg) => held.push(msg), { noAck: false });
  await sleep(300);
  assert.equal(held.length, 2, "prefetch 2: two unacked at most");
  ch.ack(held[1], true); // multiple: both
  await sleep(300);
  assert.equal(held.length, 4, "two more once two are acked");
  await ch.close(); // the two unacked go back
  const ch2 = await conn.createChannel();
  const back = await take(ch2, "am.work", 1);
  assert.equal(back[0].fields.redelivered, true);
  await ch2.close();
}

async function globalPrefetch(conn) {
  // RabbitMQ's global qos: one window of 3 shared by the channel's consumers.
  const ch = await conn.createChannel();
  for (const q of ["am.g1", "am.g2"]) {
    await ch.assertQueue(q);
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`${q}-${i}`));
  }
  await ch.prefetch(3, true);
  const held = [];
  for (const q of ["am.g1", "am.g2"]) await ch.consume(q, (msg) => held.push(msg), { noAck: false });
  await sleep(300);
  assert.equal(held.length, 3, "three unacked across both consumers");
  ch.ack(held[0]);
  ch.ack(held[1]);
  await sleep(300);
  assert.equal(held.length, 5, "two acks, two more");
  await ch.close();
}

async function nackRequeue(conn) {
  const ch = await conn.createChannel();
  await ch.assertQueue("am.retry");
  ch.sendToQueue("am.retry", Buffer.from("try me"));
  const first = await ch.get("am.retry", { noAck: false });
  assert.equal(first.fields.redelivered, false);
  ch.nack(first, false, true);
  const second = await ch.get("am.retry", { noAck: false });
  assert.equal(second.content.toString(), "try me");
  assert.equal(second.fields.redelivered, true);
  ch.ack(second);
  assert.equal(await ch.get("am.retry"), false, "empty: get-empty");
  await ch.close();
}

async function deadLetters(conn) {
  const ch = await conn.createChannel();
  await ch.assertExchange("am.dlx", "fanout");
  await ch.assertQueue("am.dead");
  await ch.bindQueue("am.dead", "am.dlx", "");
  await ch.assertQueue("am.orders", { deadLetterExchange: "am.dlx" });
  ch.sendToQueue("am.orders", Buffer.from("bad order"));
  const msg = await ch.get("am.orders", { noAck: false });
  ch.nack(msg, false, false); // rejected: to the dead-letter exchange
  const [dead] = await take(ch, "am.dead", 1);
  assert.equal(dead.content.toString(), "bad order");
  assert.equal(dead.properties.headers["x-death-reason"], "rejected");
  assert.equal(dead.fields.exchange, "am.dlx");
  await ch.close();
}

async function ttl(conn) {
  const ch = await conn.createChannel();
  await ch.assertQueue("am.expired");
  await ch.assertQueue("am.short", {
    messageTtl: 100,
    deadLetterExchange: "",
    deadLetterRoutingKey: "am.expired",
  });
  ch.sendToQueue("am.short", Buffer.from("queue ttl"));
  await ch.assertQueue("am.long");
  ch.sendToQueue("am.long", Buffer.from("message ttl"), { expiration: "100" });
  ch.sendToQueue("am.long", Buffer.from("stays"));
  await sleep(400);
  const [expired] = await take(ch, "am.expired", 1);
  assert.equal(expired.content.toString(), "queue ttl");
  assert.equal(expired.properties.headers["x-death-reason"], "expired");
  const left = await ch.get("am.long");
  assert.equal(left.content.toString(), "stays", "the expired message went first");
  await ch.close();
}

async function propertiesAndMqtt(conn) {
  const ch = await conn.createChannel();
  // An MQTT subscriber sees an AMQP publish to amq.topic.
  const sub = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", mqttPort, "-t", "home/#", "-v", "-C", "1", "-W", "10", "-V", "mqttv5", "-F", "%t %p %P"]);
  let out = "";
  sub.stdout.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => sub.on("exit", resolve));
  await sleep(500);
  ch.publish("amq.topic", "home.kitchen.temperature", Buffer.from("21.5"), {
    contentType: "text/plain",
    headers: { room: "kitchen" },
  });
  await exited;
  assert.match(out, /^home\/kitchen\/temperature 21\.5 .*room:kitchen/, out);
  // Properties survive the engine.
  await ch.assertQueue("am.props");
  const sent = {
    contentType: "application/json",
    contentEncoding: "identity",
    headers: { source: "thermostat", count: 3 },
    deliveryMode: 2,
    priority: 4,
    correlationId: "req-1",
    replyTo: "am.replies",
    messageId: "id-9",
    timestamp: 1700000000,
    type: "reading",
    appId: "check.js",
  };
  ch.sendToQueue("am.props", Buffer.from("{}"), sent);
  const [msg] = await take(ch, "am.props", 1);
  const p = msg.properties;
  for (const key of ["contentType", "contentEncoding", "deliveryMode", "priority", "correlationId", "replyTo", "messageId", "timestamp", "type", "appId"]) {
    assert.equal(p[key], sent[key], key);
  }
  assert.deepEqual(p.headers, { source: "thermostat", count: "3" }, "header values come back as text");
  await ch.close();
}

async function cancelNotify(conn) {
  const ch = await conn.createChannel();
  await ch.assertQueue("am.doomed");
  const cancelled = new Promise((resolve) => ch.consume("am.doomed", (msg) => msg === null && resolve()));
  await sleep(100);
  const other = await conn.createChannel();
  await other.deleteQueue("am.doomed");
  await cancelled; // amqplib hands `null` to the consumer on basic.cancel
  await ch.close();
  await other.close();
}

async function main() {
  const conn = await amqp.connect(url);
  const checks = { confirms, prefetch, globalPrefetch, nackRequeue, deadLetters, ttl, propertiesAndMqtt, cancelNotify };
  for (const [name, check] of Object.entries(checks)) {
    await check(conn);
    console.log(`ok ${name}`);
  }
  await conn.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
