/*
 * record_call.c: records one call of a packet capture through the jyqq-media C API.
 *
 * The capture stands in for the network: each datagram is handed to the session at its
 * capture time, and the session's timeouts are honoured in between, exactly as a PBX
 * module would drive it from its event loop. The recording pages go to OUT (stereo Ogg
 * Opus: leg A left, leg B right); a listening monitor (stereo tap) is attached for the
 * whole call; digits and the call summary are printed.
 *
 *   usage: record_call CAPTURE OUT.opus [CALL_INDEX]
 *
 * Prints "key value" lines: calls, call, datagrams, rate_hz, samples_per_frame,
 * transmit_a, transmit_b, tap_frames, pages, bytes, events, eos, digit (one per key),
 * duration_ns (of OUT, read back with jyqq_ogg_opus_info), summary_bytes.
 *
 * Build (see Makefile): cc -I../../include record_call.c libjyqq_media.a -lm -lpthread -ldl ...
 */
#include "jyqq_media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                        \
    do {                                                                                   \
        jyqq_result r_ = (call);                                                           \
        if (r_ != JYQQ_OK) {                                                               \
            fprintf(stderr, "%s:%d: %s: %u (%s)\n", __FILE__, __LINE__, #call, (unsigned)r_, \
                    jyqq_result_text(r_));                                                 \
            goto done;                                                                     \
        }                                                                                  \
    } while (0)

struct stats {
    size_t transmit[2];
    size_t tap_frames;
    size_t pages;
    size_t bytes;
    size_t events;
    int eos;
    int ended;
    uint64_t wake_ns;
};

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* Drains the session's outputs until it asks to be woken (or the call is over). */
static jyqq_result drain(jyqq_session *s, uint64_t now_ns, FILE *out, struct stats *st) {
    jyqq_output o;
    for (;;) {
        jyqq_result r = jyqq_session_poll_output(s, now_ns, &o);
        if (r != JYQQ_OK) return r;
        switch (o.kind) {
        case JYQQ_OUTPUT_TRANSMIT: /* a PBX would sendto() the leg's remote address here */
            st->transmit[o.leg == JYQQ_LEG_B]++;
            break;
        case JYQQ_OUTPUT_TAP: /* o.pcm: o.samples_per_channel x o.channels at o.rate_hz */
            st->tap_frames++;
            break;
        case JYQQ_OUTPUT_RECORDING:
            if (fwrite(o.data, 1, o.len, out) != o.len) return JYQQ_INTERNAL_ERROR;
            st->pages++;
            st->bytes += o.len;
            st->eos |= o.eos;
            break;
        case JYQQ_OUTPUT_EVENT:
            st->events++;
            if (o.event == JYQQ_EVENT_DIGIT) printf("digit %s\n", o.json);
            break;
        case JYQQ_OUTPUT_TIMEOUT:
            st->wake_ns = o.at_ns;
            return JYQQ_OK;
        default: /* JYQQ_OUTPUT_NONE: the call has ended and everything was drained */
            st->ended = 1;
            return JYQQ_OK;
        }
    }
}

/* The first payload of a leg that is audio (not telephone-event or comfort noise). */
static int audio_codec(jyqq_capture *cap, size_t call, jyqq_leg leg, jyqq_codec *codec) {
    size_t n = 0, i;
    if (jyqq_capture_call_payload_count(cap, call, leg, &n) != JYQQ_OK) return 0;
    for (i = 0; i < n; i++) {
        if (jyqq_capture_call_payload(cap, call, leg, i, codec) != JYQQ_OK) return 0;
        if (strcmp(codec->encoding_name, "telephone-event") != 0 && strcmp(codec->encoding_name, "CN") != 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int status = 1;
    size_t len = 0, calls = 0, call = 0, count = 0, i, leg, n, summary_len = 0, frame = 0;
    unsigned char *bytes = NULL, *written = NULL;
    char *summary = NULL;
    FILE *out = NULL;
    jyqq_capture *cap = NULL;
    jyqq_session_config *cfg = NULL;
    jyqq_session *s = NULL;
    jyqq_codec codec[2];
    jyqq_datagram d;
    jyqq_ogg_info info;
    struct stats st;
    uint64_t start_ns, last_ns;
    uint32_t tap = 0, rate = 0;

    memset(&st, 0, sizeof st);
    if (argc < 3) {
        fprintf(stderr, "usage: %s CAPTURE OUT.opus [CALL_INDEX]\n", argv[0]);
        return 2;
    }
    if (argc > 3) call = (size_t)strtoul(argv[3], NULL, 10);
    printf("version %s\n", jyqq_version());
    if (!(bytes = read_file(argv[1], &len))) {
        perror(argv[1]);
        goto done;
    }
    if (!(out = fopen(argv[2], "wb"))) {
        perror(argv[2]);
        goto done;
    }

    CHECK(jyqq_capture_new(bytes, len, &cap));
    CHECK(jyqq_capture_call_count(cap, &calls));
    printf("calls %zu\ncall %zu\n", calls, call);
    CHECK(jyqq_capture_call_datagram_count(cap, call, &count));
    printf("datagrams %zu\n", count);

    /* Each leg is sent the codec it sends us; a one-way call's leg B gets leg A's. */
    if (!audio_codec(cap, call, JYQQ_LEG_A, &codec[0])) {
        fprintf(stderr, "leg A carries no named audio codec\n");
        goto done;
    }
    if (!audio_codec(cap, call, JYQQ_LEG_B, &codec[1])) codec[1] = codec[0];
    CHECK(jyqq_session_config_new("capture-call", &cfg));
    CHECK(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &codec[0], 0x4a590001u, 1000, 160000, NULL));
    CHECK(jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &codec[1], 0x4a590002u, 2000, 320000, NULL));
    for (leg = 0; leg < 2; leg++) {
        jyqq_codec c;
        CHECK(jyqq_capture_call_payload_count(cap, call, (jyqq_leg)leg, &n));
        for (i = 0; i < n; i++) {
            CHECK(jyqq_capture_call_payload(cap, call, (jyqq_leg)leg, i, &c));
            CHECK(jyqq_session_config_add_payload(cfg, (jyqq_leg)leg, &c));
        }
    }

    /* The call starts (and is answered) at its first packet. */
    CHECK(jyqq_capture_call_datagram(cap, call, 0, &d));
    start_ns = last_ns = d.time_ns;
    CHECK(jyqq_session_new(cfg, start_ns, &s));
    CHECK(jyqq_session_frame_info(s, &rate, &frame));
    printf("rate_hz %u\nsamples_per_frame %zu\n", (unsigned)rate, frame);
    CHECK(jyqq_session_answer(s, start_ns));
    CHECK(jyqq_session_add_tap(s, start_ns, JYQQ_TALK_NONE, JYQQ_LISTEN_STEREO, &tap));
    CHECK(drain(s, start_ns, out, &st));

    for (i = 0; i < count && !st.ended; i++) {
        CHECK(jyqq_capture_call_datagram(cap, call, i, &d));
        while (st.wake_ns <= d.time_ns && !st.ended) { /* the timer fires before the packet */
            CHECK(jyqq_session_handle_timeout(s, st.wake_ns));
            CHECK(drain(s, st.wake_ns, out, &st));
        }
        CHECK(jyqq_session_handle_rtp(s, d.time_ns, d.leg, d.from, d.data, d.len));
        CHECK(drain(s, d.time_ns, out, &st));
        last_ns = d.time_ns;
    }
    while (st.wake_ns <= last_ns && !st.ended) {
        CHECK(jyqq_session_handle_timeout(s, st.wake_ns));
        CHECK(drain(s, st.wake_ns, out, &st));
    }

    /* The summary is asked for its size first (rustls-ffi style), then written. */
    if (jyqq_session_summary_json(s, last_ns, NULL, 0, &summary_len) != JYQQ_BUFFER_TOO_SMALL) goto done;
    if (!(summary = malloc(summary_len + 1))) goto done;
    CHECK(jyqq_session_summary_json(s, last_ns, summary, summary_len + 1, &summary_len));
    printf("summary_bytes %zu\n", summary_len);

    CHECK(jyqq_session_disconnect(s, last_ns, JYQQ_END_HANGUP_A));
    while (!st.ended) CHECK(drain(s, last_ns, out, &st));
    printf("transmit_a %zu\ntransmit_b %zu\ntap_frames %zu\npages %zu\nbytes %zu\nevents %zu\neos %d\n",
           st.transmit[0], st.transmit[1], st.tap_frames, st.pages, st.bytes, st.events, st.eos);
    if (fclose(out) != 0) {
        out = NULL;
        goto done;
    }
    out = NULL;

    /* Read the recording back. */
    if (!(written = read_file(argv[2], &len))) goto done;
    CHECK(jyqq_ogg_opus_info(written, len, &info));
    printf("duration_ns %llu\nchannels %u\nconformant %d\n", (unsigned long long)info.duration_ns,
           (unsigned)info.channels, (int)info.conformant);
    status = 0;

done:
    if (jyqq_session_free(s) != JYQQ_OK) status = 1;
    if (jyqq_session_config_free(cfg) != JYQQ_OK) status = 1;
    if (jyqq_capture_free(cap) != JYQQ_OK) status = 1;
    if (out) fclose(out);
    free(summary);
    free(written);
    free(bytes);
    return status;
}
