#!/usr/bin/env node
// drift-consumer.js - follows trueup's drift feed from another language.
//
// Subscribes to the JetStream stream TRUEUP_DRIFT (subjects trueup.drift.<rule>.<kind>) from its
// first message and prints one line per trueup.v1.DriftEvent: state, rule, entity, correlation
// id, reason. The messages are decoded with protobufjs from the contract's own .proto files
// (schemas/trueup/v1/*.proto), loaded at run time: nothing is generated, nothing but the .proto
// files and a NATS client is needed - which is the point of the public contract.
//
//   node drift-consumer.js [--server nats://127.0.0.1:4222] [--count N] [--json]
//
// Without --durable it reads through an *ordered consumer*: ephemeral, no acks, nothing left on
// the server, restarts from the beginning (or --from-seq) each time. With --durable NAME it
// binds to (and, when missing, creates) a durable pull consumer with explicit acks, so that a
// restarted subscriber continues where it stopped - what a service that acts on drift wants.
// Run with --help for every option.
"use strict";

const fs = require("fs");
const path = require("path");
const { parseArgs } = require("util");
const protobuf = require("protobufjs");
const {
  connect,
  credsAuthenticator,
  AckPolicy,
  DeliverPolicy,
} = require("nats");

const STREAM = "TRUEUP_DRIFT"; // public contract (DESIGN.md, "Streams")
const DRIFT_TYPE = "trueup.v1.DriftEvent"; // Trueup-Type header of every drift event

const USAGE = `usage: drift-consumer.js [options]

Prints the drift events of TRUEUP_DRIFT, one line each:
  D<seq> <time> <state> <rule> <kind>/<namespace>/<name> corr=<correlation id>: <reason>

options:
  --server URL          NATS server(s), comma-separated (default: $NATS_URL or nats://127.0.0.1:4222)
  --creds FILE          NATS .creds file (user JWT + nkey seed)
  --user NAME           NATS user; with --password-file
  --password-file FILE  file holding the password (first line)
  --tls-ca FILE         CA bundle: connect with TLS and verify the server
  --proto-dir DIR       directory holding trueup/v1/*.proto (default: the repository's schemas/)
  --filter SUBJECT      subjects to read (default trueup.drift.>; e.g. trueup.drift.ghost-worker.>)
  --from-seq N          start at stream sequence N (default: the first message)
  --durable NAME        use (or create) the durable pull consumer NAME, acking each event
  --count N             exit 0 after N events (default: run until SIGINT/SIGTERM)
  --timeout SECONDS     exit 2 if --count events have not arrived within this time
  --json                one JSON object per event instead of a text line
  -h, --help            this text

exit: 0 done (or stopped by a signal), 1 connection/stream/schema error, 2 timed out, 64 usage`;

function usageError(msg) {
  process.stderr.write(`drift-consumer: ${msg}\n${USAGE}\n`);
  process.exit(64);
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        server: { type: "string" },
        creds: { type: "string" },
        user: { type: "string" },
        "password-file": { type: "string" },
        "tls-ca": { type: "string" },
        "proto-dir": { type: "string" },
        filter: { type: "string" },
        "from-seq": { type: "string" },
        durable: { type: "string" },
        count: { type: "string" },
        timeout: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    usageError(err.message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const positiveInt = (name) => {
    if (v[name] === undefined) return 0;
    if (!/^[1-9][0-9]*$/.test(v[name])) usageError(`--${name} takes a positive integer`);
    return Number(v[name]);
  };
  const opts = {
    servers: (v.server || process.env.NATS_URL || "nats://127.0.0.1:4222").split(","),
    creds: v.creds,
    user: v.user,
    passwordFile: v["password-file"],
    tlsCa: v["tls-ca"],
    protoDir: v["proto-dir"] || path.resolve(__dirname, "..", "..", "..", "schemas"),
    filter: v.filter || "trueup.drift.>",
    fromSeq: positiveInt("from-seq"),
    durable: v.durable,
    count: positiveInt("count"),
    timeout: positiveInt("timeout"),
    json: Boolean(v.json),
  };
  if (opts.passwordFile && !opts.user) usageError("--password-file needs --user");
  if (opts.creds && opts.user) usageError("--creds and --user exclude each other");
  // A durable name is a subject token: no '.', '*', '>' or whitespace.
  if (opts.durable !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(opts.durable)) {
    usageError("--durable takes a name of letters, digits, '-' and '_'");
  }
  if (!/^trueup\.drift(\.[^.\s*>]+|\.\*)*(\.>)?$/.test(opts.filter)) {
    usageError(`--filter ${opts.filter} is not a subject under trueup.drift`);
  }
  return opts;
}

// Loads every schemas/trueup/v1/*.proto (imports resolve against protoDir, as protoc's -I would)
// and returns the DriftEvent type. keepCase keeps the .proto field names (correlation_id), the
// names `trueup drift -o json` prints too.
function loadDriftEvent(protoDir) {
  const dir = path.join(protoDir, "trueup", "v1");
  let files;
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".proto")).sort();
  } catch (err) {
    throw new Error(`cannot read the schemas in ${dir}: ${err.message} (use --proto-dir)`);
  }
  if (files.length === 0) throw new Error(`no .proto files in ${dir} (use --proto-dir)`);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : path.join(protoDir, target);
  root.loadSync(files.map((f) => `trueup/v1/${f}`), { keepCase: true });
  root.resolveAll();
  return root.lookupType(DRIFT_TYPE);
}

async function connectNats(opts) {
  const co = { servers: opts.servers, name: "trueup-drift-consumer", maxReconnectAttempts: -1 };
  if (opts.creds) co.authenticator = credsAuthenticator(fs.readFileSync(opts.creds));
  if (opts.user) {
    co.user = opts.user;
    if (opts.passwordFile) {
      co.pass = fs.readFileSync(opts.passwordFile, "utf8").split(/\r?\n/)[0];
    }
  }
  if (opts.tlsCa) co.tls = { caFile: opts.tlsCa };
  return connect(co);
}

// An ordered consumer (ephemeral, unacked) or a durable pull consumer, both from the start.
async function openConsumer(nc, opts) {
  const js = nc.jetstream();
  if (opts.durable === undefined) {
    // No deliver_policy: the ordered consumer then starts at opt_start_seq, or at sequence 1
    // (which is "all"; nats.js 2.29 would send DeliverPolicy.All together with
    // opt_start_seq 1, which the server refuses).
    const oc = { filterSubjects: opts.filter };
    if (opts.fromSeq > 0) oc.opt_start_seq = opts.fromSeq;
    return js.consumers.get(STREAM, oc);
  }
  // checkAPI: false - no $JS.API.INFO call, so the user needs no account-wide permission.
  const jsm = await nc.jetstreamManager({ checkAPI: false });
  try {
    await jsm.consumers.info(STREAM, opts.durable);
  } catch (err) {
    if (!/consumer not found/i.test(String(err.message))) throw err;
    const cfg = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: opts.filter,
    };
    if (opts.fromSeq > 0) {
      cfg.deliver_policy = DeliverPolicy.StartSequence;
      cfg.opt_start_seq = opts.fromSeq;
    } else {
      cfg.deliver_policy = DeliverPolicy.All;
    }
    await jsm.consumers.add(STREAM, cfg);
  }
  return js.consumers.get(STREAM, opts.durable);
}

const shortState = (s) => String(s).replace(/^STATE_/, "").toLowerCase();

function entityText(e) {
  return e ? `${e.kind}/${e.namespace}/${e.name}` : "-";
}

// One stored message -> one output line, or null (with a warning) when it is not a DriftEvent.
function render(m, DriftEvent, json) {
  const hdr = (k) => (m.headers ? m.headers.get(k) : "");
  const type = hdr("Trueup-Type");
  if (type !== DRIFT_TYPE) {
    process.stderr.write(
      `drift-consumer: seq ${m.seq} on ${m.subject}: Trueup-Type "${type}", not ${DRIFT_TYPE}: skipped\n`,
    );
    return null;
  }
  let ev;
  try {
    ev = DriftEvent.toObject(DriftEvent.decode(m.data), {
      enums: String,
      longs: String, // uint64/int64 as decimal strings, as proto3 JSON does
      defaults: true,
      arrays: true,
    });
  } catch (err) {
    process.stderr.write(
      `drift-consumer: seq ${m.seq} on ${m.subject}: ${m.data.length} bytes that do not decode as ${DRIFT_TYPE}: ${err.message}: skipped\n`,
    );
    return null;
  }
  const tsMs = Math.floor(m.info.timestampNanos / 1e6);
  const time = new Date(tsMs).toISOString();
  if (json) {
    return JSON.stringify({
      stream: STREAM,
      seq: m.seq,
      time,
      subject: m.subject,
      msg_id: hdr("Nats-Msg-Id"),
      type,
      correlation_id: hdr("Trueup-Correlation-Id"),
      message: ev,
    });
  }
  return (
    `D${m.seq} ${time} ${shortState(ev.state).padEnd(9)} ${ev.rule} ${entityText(ev.entity)}` +
    ` corr=${ev.correlation_id}: ${ev.reason}`
  );
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  let DriftEvent;
  try {
    DriftEvent = loadDriftEvent(opts.protoDir);
  } catch (err) {
    process.stderr.write(`drift-consumer: schemas: ${err.message}\n`);
    return 1;
  }

  let nc;
  try {
    nc = await connectNats(opts);
  } catch (err) {
    process.stderr.write(`drift-consumer: connect ${opts.servers.join(",")}: ${err.message}\n`);
    return 1;
  }

  let messages = null;
  let rc = 0;
  let seen = 0;
  let timer = null;
  // Ends the loop below; before the consumer exists (still being created), closing the
  // connection makes the pending request fail. Either way the process is out within 2 s.
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    rc = code;
    if (messages) messages.stop();
    else nc.close().catch(() => {});
    setTimeout(() => process.exit(rc), 2000).unref();
  };
  process.once("SIGINT", () => stop(0));
  process.once("SIGTERM", () => stop(0));
  try {
    if (opts.timeout > 0) {
      timer = setTimeout(() => {
        process.stderr.write(
          `drift-consumer: timed out after ${opts.timeout}s with ${seen} of ${opts.count || "?"} events\n`,
        );
        stop(2);
      }, opts.timeout * 1000);
    }
    const consumer = await openConsumer(nc, opts);
    messages = await consumer.consume({ max_messages: 256 });
    for await (const m of messages) {
      const line = render(m, DriftEvent, opts.json);
      if (line !== null) process.stdout.write(line + "\n");
      if (opts.durable !== undefined) {
        // Acked (and the ack confirmed) only once handled: a crash means a redelivery, never
        // a lost event. A service that acts on drift should dedupe on event_id (Nats-Msg-Id).
        await m.ackAck();
      }
      if (line === null) continue;
      seen++;
      if (opts.count > 0 && seen >= opts.count) {
        stop(0);
        break;
      }
    }
  } catch (err) {
    if (!stopping) {
      process.stderr.write(`drift-consumer: ${STREAM}: ${err.message}\n`);
      rc = 1;
    }
  } finally {
    if (timer) clearTimeout(timer);
    await nc.drain().catch(() => nc.close());
  }
  return rc;
}

main().then(
  (rc) => {
    process.exitCode = rc;
  },
  (err) => {
    process.stderr.write(`drift-consumer: ${err.stack || err}\n`);
    process.exitCode = 1;
  },
);
