/*
 * ffi_misuse.c: bad input through the C API returns error codes, never a crash, and
 * never reads freed memory (run under valgrind by tests/ffi_c_example.rs).
 * Prints "ok N" and exits 0 when every expectation holds; names the first failure otherwise.
 */
#include "jyqq_media.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int checks = 0, failures = 0;

#define EXPECT(call, code)                                                                          \
    do {                                                                                            \
        jyqq_result r_ = (call);                                                                    \
        checks++;                                                                                   \
        if (r_ != (code)) {                                                                         \
            failures++;                                                                             \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %s\n", __FILE__, __LINE__, #call, \
                    (unsigned)r_, jyqq_result_text(r_), #code);                                     \
        }                                                                                           \
    } while (0)

#define TRUE_(cond)                                                             \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

static const jyqq_codec PCMU = {"PCMU", NULL, 8000, 0, 1};

static jyqq_session_config *pcmu_config(jyqq_policy policy) {
    jyqq_session_config *cfg = NULL;
    EXPECT(jyqq_session_config_new("misuse", &cfg), JYQQ_OK);
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &PCMU, 1, 0, 0, "192.0.2.1:4000"), JYQQ_OK);
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &PCMU, 2, 0, 0, NULL), JYQQ_OK);
    EXPECT(jyqq_session_config_set_policy(cfg, policy), JYQQ_OK);
    return cfg;
}

/* Drains outputs until TIMEOUT/NONE; returns the number of RECORDING pages seen. */
static int drain(jyqq_session *s, uint64_t now) {
    jyqq_output o;
    int pages = 0, i;
    for (i = 0; i < 10000; i++) {
        if (jyqq_session_poll_output(s, now, &o) != JYQQ_OK) return -1;
        if (o.kind == JYQQ_OUTPUT_RECORDING) pages++;
        if (o.kind == JYQQ_OUTPUT_TIMEOUT || o.kind == JYQQ_OUTPUT_NONE) break;
    }
    return pages;
}

static void config_errors(void) {
    jyqq_session_config *cfg = NULL;
    jyqq_session *s = NULL;
    jyqq_codec bad = PCMU;
    EXPECT(jyqq_session_config_new(NULL, &cfg), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_config_new("x", NULL), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_config_new("\xff\xfe", &cfg), JYQQ_INVALID_UTF8);
    TRUE_(cfg == NULL); /* outputs are written only on success */
    EXPECT(jyqq_session_config_new("x", &cfg), JYQQ_OK);
    EXPECT(jyqq_session_config_set_leg(cfg, 2, &PCMU, 1, 0, 0, NULL), JYQQ_INVALID_LEG);
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, NULL, 1, 0, 0, NULL), JYQQ_NULL_PARAMETER);
    bad.encoding_name = NULL;
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &bad, 1, 0, 0, NULL), JYQQ_NULL_PARAMETER);
    bad = PCMU;
    bad.payload_type = 200;
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &bad, 1, 0, 0, NULL), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &PCMU, 1, 0, 0, "not an address"), JYQQ_INVALID_ADDRESS);
    EXPECT(jyqq_session_config_set_policy(cfg, 3), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_config_add_warning_tone(cfg, 1000, 440.0f, -10.0f, 0), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_config_add_warning_prompt(cfg, 1000, NULL, 10, 1, 8000), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_config_set_timing(cfg, 500, 0, 0), JYQQ_INVALID_VALUE);
    /* Leg B never set. */
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_A, &PCMU, 1, 0, 0, NULL), JYQQ_OK);
    EXPECT(jyqq_session_new(cfg, 0, &s), JYQQ_CONFIG_INCOMPLETE);
    TRUE_(s == NULL);
    bad = PCMU;
    bad.encoding_name = "G729";
    bad.payload_type = 18;
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &bad, 2, 0, 0, NULL), JYQQ_OK);
    EXPECT(jyqq_session_new(cfg, 0, &s), JYQQ_UNSUPPORTED_CODEC);
    bad.encoding_name = "G722";
    bad.payload_type = 9;
    EXPECT(jyqq_session_config_set_leg(cfg, JYQQ_LEG_B, &bad, 2, 0, 0, NULL), JYQQ_OK);
    EXPECT(jyqq_session_new(cfg, 0, &s), JYQQ_NO_COMMON_RATE);
    EXPECT(jyqq_session_new(cfg, 0, NULL), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_config_free(cfg), JYQQ_OK);
    /* Freed: detected through the handle registry, without reading the memory. */
    EXPECT(jyqq_session_config_set_policy(cfg, JYQQ_POLICY_RECORD), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_config_free(cfg), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_config_free(NULL), JYQQ_OK);
}

static void session_errors(void) {
    jyqq_session_config *cfg = pcmu_config(JYQQ_POLICY_RECORD);
    jyqq_session *s = NULL;
    jyqq_output o;
    unsigned char junk[12] = {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    int16_t pcm[161];
    char buf[8];
    size_t n = 0, frame = 0;
    uint32_t rate = 0, tap = 77, playback = 0;
    struct sockaddr_in sin;
    bool ended = true;
    int stack_object = 0;

    memset(pcm, 0, sizeof pcm);
    EXPECT(jyqq_session_new(cfg, 1000, &s), JYQQ_OK);
    EXPECT(jyqq_session_frame_info(s, &rate, &frame), JYQQ_OK);
    TRUE_(rate == 8000 && frame == 160);
    EXPECT(jyqq_session_answer(NULL, 0), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_answer((jyqq_session *)cfg, 0), JYQQ_INVALID_HANDLE); /* wrong type */
    EXPECT(jyqq_session_answer((jyqq_session *)&stack_object, 0), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_answer(s, 1000), JYQQ_OK);

    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, "192.0.2.1:4000", NULL, 12), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, "192.0.2.1:4000", junk, 0), JYQQ_INVALID_LENGTH);
    EXPECT(jyqq_session_handle_rtp(s, 1000, 5, "192.0.2.1:4000", junk, sizeof junk), JYQQ_INVALID_LEG);
    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, "192.0.2.1", junk, sizeof junk), JYQQ_INVALID_ADDRESS);
    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, NULL, junk, sizeof junk), JYQQ_NULL_PARAMETER);
    /* Garbage from the network is a counted drop, not an error. */
    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, "192.0.2.1:4000", junk, 3), JYQQ_OK);
    EXPECT(jyqq_session_handle_rtp(s, 1000, JYQQ_LEG_A, "203.0.113.9:4000", junk, sizeof junk), JYQQ_OK);

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(4000);
    sin.sin_addr.s_addr = htonl(0xC0000201u); /* 192.0.2.1 */
    EXPECT(jyqq_session_handle_rtp_sockaddr(s, 1000, JYQQ_LEG_A, &sin, sizeof sin, junk, sizeof junk), JYQQ_OK);
    EXPECT(jyqq_session_handle_rtp_sockaddr(s, 1000, JYQQ_LEG_A, &sin, 4, junk, sizeof junk), JYQQ_INVALID_LENGTH);
    sin.sin_family = AF_UNIX;
    EXPECT(jyqq_session_handle_rtp_sockaddr(s, 1000, JYQQ_LEG_A, &sin, sizeof sin, junk, sizeof junk),
           JYQQ_INVALID_ADDRESS);

    EXPECT(jyqq_session_poll_output(s, 1000, NULL), JYQQ_NULL_PARAMETER);
    TRUE_(drain(s, 1000) >= 0);

    EXPECT(jyqq_session_add_tap(s, 1000, 9, JYQQ_LISTEN_MONO, &tap), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_add_tap(s, 1000, JYQQ_TALK_NONE, JYQQ_LISTEN_NONE, &tap), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_add_tap(s, 1000, JYQQ_TALK_NONE, JYQQ_LISTEN_MONO, NULL), JYQQ_NULL_PARAMETER);
    TRUE_(tap == 77);
    EXPECT(jyqq_session_remove_tap(s, 1000, 12345), JYQQ_UNKNOWN_TAP);
    EXPECT(jyqq_session_push_guard_audio(s, 12345, pcm, 161), JYQQ_INVALID_LENGTH);
    EXPECT(jyqq_session_push_guard_audio(s, 12345, pcm, 160), JYQQ_UNKNOWN_TAP);
    EXPECT(jyqq_session_push_guard_audio(s, 12345, NULL, 160), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_session_add_tap(s, 1000, JYQQ_TALK_WHISPER_B, JYQQ_LISTEN_MONO, &tap), JYQQ_OK);
    EXPECT(jyqq_session_push_guard_audio(s, tap, pcm, 160), JYQQ_OK);
    EXPECT(jyqq_session_change_tap(s, 1000, tap, JYQQ_TALK_BARGE, 17), JYQQ_INVALID_VALUE);

    EXPECT(jyqq_session_play_tone(s, 1000, JYQQ_TARGET_BOTH_LEGS, 0, JYQQ_PLAY_MIX, 5000.0f, -10.0f, 100, &playback),
           JYQQ_INVALID_VALUE); /* above 4 kHz at 8 kHz */
    EXPECT(jyqq_session_play_tone(s, 1000, 9, 0, JYQQ_PLAY_MIX, 440.0f, -10.0f, 100, &playback), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_play_tone(s, 1000, JYQQ_TARGET_LEG_A, 0, 4, 440.0f, -10.0f, 100, &playback),
           JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_play_prompt(s, 1000, JYQQ_TARGET_LEG_A, 0, JYQQ_PLAY_MIX, pcm, 0, 1, 8000, &playback),
           JYQQ_INVALID_LENGTH);
    EXPECT(jyqq_session_play_prompt(s, 1000, JYQQ_TARGET_LEG_A, 0, JYQQ_PLAY_MIX, pcm, 80, 0, 8000, &playback),
           JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_play_prompt(s, 1000, JYQQ_TARGET_LEG_A, 0, JYQQ_PLAY_MIX, pcm, 161, 1, 8000, &playback),
           JYQQ_OK);
    EXPECT(jyqq_session_tighten_policy(s, 1000, 99), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_bind_remote(s, 3, "192.0.2.1:4000"), JYQQ_INVALID_LEG);
    EXPECT(jyqq_session_is_ended(s, NULL), JYQQ_NULL_PARAMETER);

    /* Summary: too small a buffer is refused and left untouched; the length is given. */
    memset(buf, 'x', sizeof buf);
    EXPECT(jyqq_session_summary_json(s, 1000, buf, sizeof buf, &n), JYQQ_BUFFER_TOO_SMALL);
    TRUE_(n > sizeof buf && buf[0] == 'x');
    EXPECT(jyqq_session_summary_json(s, 1000, buf, sizeof buf, NULL), JYQQ_NULL_PARAMETER);

    EXPECT(jyqq_session_disconnect(s, 2000, 42), JYQQ_INVALID_VALUE);
    EXPECT(jyqq_session_disconnect(s, 2000, JYQQ_END_STAFF_CUT), JYQQ_OK);
    EXPECT(jyqq_session_is_ended(s, &ended), JYQQ_OK);
    TRUE_(ended);
    EXPECT(jyqq_session_add_tap(s, 2000, JYQQ_TALK_NONE, JYQQ_LISTEN_MONO, &tap), JYQQ_CALL_ENDED);
    EXPECT(jyqq_session_play_tone(s, 2000, JYQQ_TARGET_LEG_A, 0, JYQQ_PLAY_MIX, 440.0f, -10.0f, 100, &playback),
           JYQQ_CALL_ENDED);
    /* Packets after the end are ignored, not refused. */
    EXPECT(jyqq_session_handle_rtp(s, 2000, JYQQ_LEG_A, "192.0.2.1:4000", junk, sizeof junk), JYQQ_OK);
    TRUE_(drain(s, 2000) > 0); /* the recording's last pages */
    EXPECT(jyqq_session_poll_output(s, 2000, &o), JYQQ_OK);
    TRUE_(o.kind == JYQQ_OUTPUT_NONE);

    EXPECT(jyqq_session_free(s), JYQQ_OK);
    EXPECT(jyqq_session_answer(s, 0), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_poll_output(s, 0, &o), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_free(s), JYQQ_INVALID_HANDLE);
    EXPECT(jyqq_session_config_free(cfg), JYQQ_OK);
}

static void policy_errors(void) {
    jyqq_session_config *cfg = pcmu_config(JYQQ_POLICY_NO_RECORD);
    jyqq_session *s = NULL;
    uint32_t tap = 0, playback = 0;
    EXPECT(jyqq_session_new(cfg, 0, &s), JYQQ_OK);
    EXPECT(jyqq_session_add_tap(s, 0, JYQQ_TALK_NONE, JYQQ_LISTEN_MONO, &tap), JYQQ_FORBIDDEN_BY_POLICY);
    EXPECT(jyqq_session_play_tone(s, 0, JYQQ_TARGET_TAP, 0, JYQQ_PLAY_MIX, 440.0f, -10.0f, 100, &playback),
           JYQQ_FORBIDDEN_BY_POLICY);
    EXPECT(jyqq_session_disconnect(s, 1000000000, JYQQ_END_HANGUP_B), JYQQ_OK);
    TRUE_(drain(s, 1000000000) == 0); /* a privileged call: not one recording page */
    EXPECT(jyqq_session_free(s), JYQQ_OK);
    EXPECT(jyqq_session_config_free(cfg), JYQQ_OK);
}

static void utility_errors(void) {
    jyqq_capture *cap = NULL;
    jyqq_ogg_info info;
    unsigned char junk[64];
    size_t n = 0;
    bool intact = true;
    memset(junk, 0x5a, sizeof junk);
    EXPECT(jyqq_capture_new(junk, sizeof junk, &cap), JYQQ_NOT_A_CAPTURE);
    EXPECT(jyqq_capture_new(NULL, 10, &cap), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_capture_new(junk, 0, &cap), JYQQ_INVALID_LENGTH);
    TRUE_(cap == NULL);
    EXPECT(jyqq_capture_call_count(cap, &n), JYQQ_NULL_PARAMETER);
    EXPECT(jyqq_ogg_opus_info(junk, sizeof junk, &info), JYQQ_NOT_OGG_OPUS);
    EXPECT(jyqq_ogg_repair(junk, sizeof junk, NULL, 0, &n), JYQQ_NOT_OGG_OPUS);
    EXPECT(jyqq_recording_verify(junk, sizeof junk, NULL, junk, sizeof junk, NULL, 0, &intact, NULL, 0, &n),
           JYQQ_NULL_PARAMETER);
    TRUE_(strcmp(jyqq_result_text(12345), "unknown result") == 0);
    TRUE_(strcmp(jyqq_result_text(JYQQ_PANIC), "the library panicked (bug)") == 0);
    TRUE_(strlen(jyqq_version()) >= 5);
}

int main(void) {
    config_errors();
    session_errors();
    policy_errors();
    utility_errors();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("ok %d\n", checks);
    return 0;
}
