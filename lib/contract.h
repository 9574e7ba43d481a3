/*
 * contract.h - names from DESIGN.md's "Public contract": streams, subject
 * prefixes and headers. Other services depend on these; change only with a
 * recorded reason.
 */
#ifndef TU_CONTRACT_H
#define TU_CONTRACT_H

#define TU_STREAM_EVENTS "TRUEUP_EVENTS"
#define TU_STREAM_DRIFT "TRUEUP_DRIFT"
#define TU_STREAM_CMD "TRUEUP_CMD"
#define TU_STREAM_DEAD "TRUEUP_DEAD"

#define TU_SUBJ_OBS "trueup.obs"        /* .<source>.<kind> */
#define TU_SUBJ_HB "trueup.hb"          /* .<service>.<instance> */
#define TU_SUBJ_OUT "trueup.out"        /* .<target>.<command_id> */
#define TU_SUBJ_APPROVE "trueup.approve" /* .<command_id> */
#define TU_SUBJ_TICK "trueup.tick"
#define TU_SUBJ_DRIFT "trueup.drift"    /* .<rule>.<kind> */
#define TU_SUBJ_CMD "trueup.cmd"        /* .<target>.<action> */
#define TU_SUBJ_DEAD "trueup.dead"      /* .<origin> */
#define TU_SUBJ_CTL_SCAN "trueup.ctl.scan" /* .<source>, request/reply */
#define TU_SUBJ_CTL_ACTUATOR "trueup.ctl.actuator" /* .<target>, request/reply: state JSON */

/* Kind token of scan markers on trueup.obs.<source>._scan (never a valid kind). */
#define TU_SCAN_TOKEN "_scan"

#define TU_HDR_MSG_ID "Nats-Msg-Id"
#define TU_HDR_TYPE "Trueup-Type"
#define TU_HDR_CORRELATION "Trueup-Correlation-Id"

#define TU_TYPE_OBSERVED "trueup.v1.ObservedState"
#define TU_TYPE_SCAN "trueup.v1.ScanMarker"
#define TU_TYPE_HEARTBEAT "trueup.v1.Heartbeat"
#define TU_TYPE_TICK "trueup.v1.Tick"
#define TU_TYPE_DRIFT "trueup.v1.DriftEvent"
#define TU_TYPE_COMMAND "trueup.v1.FixCommand"
#define TU_TYPE_OUTCOME "trueup.v1.Outcome"
#define TU_TYPE_APPROVAL "trueup.v1.Approval"
#define TU_TYPE_DEAD "trueup.v1.DeadLetter"

#endif
