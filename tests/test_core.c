/* Core: the error table, bytes, argument packs, tasks, logging levels, command-line
 * quoting, and bad input to each of them. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/cmdline.h"
#include "modules/modules.h" /* mproc__conn_os: a forged frame header */

static void errors_table(void **state)
{
    (void)state;
    /* Fixed numbers: changing one breaks every program built against an older header. */
    assert_int_equal(MPROC_EINVAL, -1);
    assert_int_equal(MPROC_ETIMEDOUT, -3);
    assert_int_equal(MPROC_ENOTASK, -6);
    assert_int_equal(MPROC_EPROTO, -25);
    assert_int_equal(MPROC_ENONZERO, -26);
    assert_int_equal(MPROC_ECANCELLED, -27);
    for (int code = MPROC_ECANCELLED; code <= 0; code++) {
        assert_non_null(mproc_strerror(code));
        assert_string_not_equal(mproc_strerror(code), "unknown error");
        assert_string_not_equal(mproc_errname(code), "MPROC_E?");
        for (int other = MPROC_ECANCELLED; other < code; other++)
            assert_string_not_equal(mproc_strerror(code), mproc_strerror(other));
    }
    assert_string_equal(mproc_strerror(12345), "unknown error");
    assert_string_equal(mproc_strerror(-999), "unknown error");
    assert_string_equal(mproc_errname(MPROC_ETIMEDOUT), "MPROC_ETIMEDOUT");
}

static void last_os_error_is_recorded(void **state)
{
    (void)state;
    mproc_pack *p = NULL;
    assert_ok(mproc_pack_create(&p));
    assert_rc(mproc_pack_str(p, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_last_os_error(), 0); /* not an OS failure */
    mproc_pack_destroy(p);
}

static void bytes_helpers(void **state)
{
    (void)state;
    mproc_bytes b = {0};
    assert_ok(mproc_bytes_copy(&b, "abc", 3));
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    mproc_bytes_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    mproc_bytes_free(NULL);
    assert_ok(mproc_bytes_copy(&b, NULL, 0));
    mproc_bytes_free(&b);
    assert_rc(mproc_bytes_copy(NULL, "x", 1), MPROC_EINVAL);
    assert_rc(mproc_bytes_copy(&b, NULL, 4), MPROC_EINVAL);
    char *s = mproc_strdup("hello");
    assert_string_equal(s, "hello");
    mproc_free(s);
    assert_null(mproc_strdup(NULL));
    assert_string_equal(mproc_version(), MPROC_VERSION_STRING);
}

static mproc_pack *sample_pack(void)
{
    mproc_pack *inner, *p;
    assert_ok(mproc_pack_create(&inner));
    assert_ok(mproc_pack_str(inner, "inside"));
    assert_ok(mproc_pack_i64(inner, -7));
    assert_ok(mproc_pack_create(&p));
    assert_ok(mproc_pack_i64(p, INT64_MIN));
    assert_ok(mproc_pack_f64(p, 3.25));
    assert_ok(mproc_pack_str(p, "grüße, 世界"));
    assert_ok(mproc_pack_str(p, ""));
    assert_ok(mproc_pack_bytes(p, "\0\1\2", 3));
    assert_ok(mproc_pack_bytes(p, NULL, 0));
    assert_ok(mproc_pack_pack(p, inner));
    assert_ok(mproc_pack_i64(p, INT64_MAX));
    mproc_pack_destroy(inner);
    return p;
}

static void pack_round_trip(void **state)
{
    (void)state;
    mproc_pack *p = sample_pack();
    assert_int_equal(mproc_pack_count(p), 8);
    mproc_bytes view;
    assert_ok(mproc_pack_view(p, &view));
    mproc_unpacker u, inner;
    assert_ok(mproc_unpack_init(&u, &view));
    assert_int_equal(mproc_unpack_remaining(&u), 8);
    int64_t i;
    double d;
    const char *s;
    size_t n;
    const void *data;
    assert_int_equal(mproc_unpack_peek(&u), MPROC_FIELD_I64);
    assert_ok(mproc_unpack_i64(&u, &i));
    assert_true(i == INT64_MIN);
    assert_ok(mproc_unpack_f64(&u, &d));
    assert_true(d == 3.25);
    assert_ok(mproc_unpack_strn(&u, &s, &n));
    assert_string_equal(s, "grüße, 世界");
    assert_int_equal(n, strlen("grüße, 世界"));
    assert_ok(mproc_unpack_str(&u, &s));
    assert_string_equal(s, "");
    assert_ok(mproc_unpack_bytes(&u, &data, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(data, "\0\1\2", 3);
    assert_ok(mproc_unpack_bytes(&u, &data, &n));
    assert_int_equal(n, 0);
    assert_ok(mproc_unpack_pack(&u, &inner));
    assert_int_equal(mproc_unpack_remaining(&inner), 2);
    assert_ok(mproc_unpack_str(&inner, &s));
    assert_string_equal(s, "inside");
    assert_ok(mproc_unpack_i64(&inner, &i));
    assert_int_equal(i, -7);
    assert_int_equal(mproc_unpack_peek(&inner), 0);
    assert_ok(mproc_unpack_skip(&u));
    assert_int_equal(mproc_unpack_peek(&u), 0);
    assert_rc(mproc_unpack_i64(&u, &i), MPROC_EINVAL); /* past the end */
    assert_ok(mproc_pack_reset(p));
    assert_int_equal(mproc_pack_count(p), 0);
    mproc_pack_destroy(p);
}

static void pack_wrong_type_does_not_advance(void **state)
{
    (void)state;
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    assert_ok(mproc_pack_str(p, "text"));
    mproc_bytes view;
    mproc_pack_view(p, &view);
    mproc_unpacker u, inner;
    mproc_unpack_init(&u, &view);
    int64_t i;
    double d;
    const void *data;
    size_t n;
    assert_rc(mproc_unpack_i64(&u, &i), MPROC_ETYPE);
    assert_rc(mproc_unpack_f64(&u, &d), MPROC_ETYPE);
    assert_rc(mproc_unpack_bytes(&u, &data, &n), MPROC_ETYPE);
    assert_rc(mproc_unpack_pack(&u, &inner), MPROC_ETYPE);
    const char *s;
    assert_ok(mproc_unpack_str(&u, &s));
    assert_string_equal(s, "text");
    mproc_pack_destroy(p);
}

static void pack_truncated_and_corrupt(void **state)
{
    (void)state;
    mproc_pack *p = sample_pack();
    mproc_bytes view;
    mproc_pack_view(p, &view);
    /* Every prefix of a valid pack reads up to the cut and then fails cleanly. */
    for (size_t cut = 0; cut < view.len; cut++) {
        mproc_bytes part = {view.data, cut};
        mproc_unpacker u;
        assert_ok(mproc_unpack_init(&u, &part));
        int rc = 0;
        for (int field = 0; field < 20 && rc == 0 && mproc_unpack_peek(&u) > 0; field++)
            rc = mproc_unpack_skip(&u);
        int remaining = mproc_unpack_remaining(&u);
        assert_true(remaining == MPROC_EINVAL || remaining == 0);
    }
    /* Flip every byte in turn: reading must never crash and always end. */
    unsigned char *copy = mproc_malloc(view.len);
    for (size_t at = 0; at < view.len; at++) {
        memcpy(copy, view.data, view.len);
        copy[at] ^= 0xA5;
        mproc_bytes bad = {copy, view.len};
        mproc_unpacker u;
        mproc_unpack_init(&u, &bad);
        for (int field = 0; field < 20; field++) {
            const char *s;
            if (mproc_unpack_peek(&u) == MPROC_FIELD_STR) {
                if (mproc_unpack_str(&u, &s) == 0)
                    assert_int_equal(s[strlen(s)], 0);
                else
                    break;
            } else if (mproc_unpack_skip(&u) != 0) {
                break;
            }
        }
    }
    mproc_free(copy);
    /* A string whose NUL is missing, or with one inside, is refused. */
    unsigned char bad_str[] = {MPROC_FIELD_STR, 2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'};
    unsigned char inner_nul[] = {MPROC_FIELD_STR, 3, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 0};
    unsigned char huge[] = {MPROC_FIELD_BYTES, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1};
    unsigned char unknown_tag[] = {99, 0, 0, 0, 0, 0, 0, 0, 0};
    const char *s;
    const void *data;
    size_t n;
    mproc_unpacker u;
    mproc_unpack_init(&u, &(mproc_bytes){bad_str, sizeof bad_str});
    assert_rc(mproc_unpack_str(&u, &s), MPROC_EINVAL);
    assert_int_equal(u.pos, 0);
    mproc_unpack_init(&u, &(mproc_bytes){inner_nul, sizeof inner_nul});
    assert_rc(mproc_unpack_str(&u, &s), MPROC_EINVAL);
    mproc_unpack_init(&u, &(mproc_bytes){huge, sizeof huge});
    assert_rc(mproc_unpack_bytes(&u, &data, &n), MPROC_EINVAL);
    assert_rc(mproc_unpack_remaining(&u), MPROC_EINVAL);
    mproc_unpack_init(&u, &(mproc_bytes){unknown_tag, sizeof unknown_tag});
    assert_rc(mproc_unpack_peek(&u), MPROC_EINVAL);
    assert_rc(mproc_unpack_skip(&u), MPROC_EINVAL);
    mproc_pack_destroy(p);
}

/* mproc_pack_repr shows each value as Python's repr() does (the expected texts are
 * Python 3's). */
static void check_repr(mproc_pack *p, const char *want)
{
    mproc_bytes b, text;
    assert_ok(mproc_pack_view(p, &b));
    assert_ok(mproc_pack_repr(&b, &text));
    assert_string_equal(text.data, want);
    assert_int_equal(text.len, strlen(want));
    mproc_bytes_free(&text);
    mproc_pack_destroy(p);
}
#define CHECK_REPR(want, ...)                                                                      \
    do {                                                                                           \
        mproc_pack *p_;                                                                            \
        assert_ok(mproc_pack_create(&p_));                                                         \
        int rc_ = MPROC_PACK(p_, __VA_ARGS__); /* not inside assert_ok: its text is huge */        \
        assert_int_equal(rc_, 0);                                                                  \
        check_repr(p_, want);                                                                      \
    } while (0)

static void pack_repr(void **state)
{
    (void)state;
    CHECK_REPR("42", 42);
    CHECK_REPR("-9223372036854775808", INT64_MIN);
    CHECK_REPR("(1, 'a', 2.5)", 1, "a", 2.5);
    CHECK_REPR("(1,)", MPROC_ARGS(1));
    CHECK_REPR("((1, 2), ((3,),))", MPROC_ARGS(1, 2), MPROC_ARGS(MPROC_ARGS(3)));
    const double floats[] = {0.1,    1e16,
                             1e15,   1.5e-5,
                             0.001,  -2.5,
                             100.0,  1.0 / 3,
                             1e-4,   123456789012345678.0,
                             5e-324, 1.7976931348623157e308,
                             -0.0,   0.0};
    const char *float_texts[] = {"0.1",
                                 "1e+16",
                                 "1000000000000000.0",
                                 "1.5e-05",
                                 "0.001",
                                 "-2.5",
                                 "100.0",
                                 "0.3333333333333333",
                                 "0.0001",
                                 "1.2345678901234568e+17",
                                 "5e-324",
                                 "1.7976931348623157e+308",
                                 "-0.0",
                                 "0.0"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        CHECK_REPR(float_texts[i], floats[i]);
    CHECK_REPR("inf", HUGE_VAL);
    CHECK_REPR("-inf", -HUGE_VAL);
    CHECK_REPR("nan", NAN);
    CHECK_REPR("\"it's\"", "it's");
    CHECK_REPR("'say \"hi\"'", "say \"hi\"");
    CHECK_REPR("'it\\'s \"x\"'", "it's \"x\"");
    CHECK_REPR("'a\\n\\t\\\\b'", "a\n\t\\b");
    CHECK_REPR("'\xe4\xbd\xa0\xe5\xa5\xbd'", "\xe4\xbd\xa0\xe5\xa5\xbd"); /* text keeps UTF-8 */
    CHECK_REPR("b\"\\x00\\xff'A\"", MPROC_BYTES("\x00\xff'A", 4));

    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    check_repr(p, "()");
    assert_ok(mproc_pack_create(&p));
    assert_rc(mproc_pack_handle(p, NULL), MPROC_EINVAL);
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    assert_ok(mproc_pack_handle(p, lock));
    assert_ok(mproc_pack_i64(p, 7));
    check_repr(p, "(<shared object>, 7)");
    mproc_lock_destroy(lock);

    /* Bad input: a code, never a crash. */
    mproc_bytes text = {(void *)1, 1};
    assert_rc(mproc_pack_repr(NULL, &text), MPROC_EINVAL);
    assert_null(text.data);
    assert_rc(mproc_pack_repr(&(mproc_bytes){0}, NULL), MPROC_EINVAL);
    uint8_t truncated[] = {MPROC_FIELD_I64, 1, 2};
    assert_rc(mproc_pack_repr(&(mproc_bytes){truncated, sizeof truncated}, &text), MPROC_EINVAL);
    uint8_t unknown[] = {99};
    assert_rc(mproc_pack_repr(&(mproc_bytes){unknown, 1}, &text), MPROC_EINVAL);
    /* 100 nested packs, each the one field of the one around it: too deep to show. */
    enum { DEPTH = 100 };
    uint8_t deep[DEPTH * 9];
    for (int i = 0; i < DEPTH; i++) {
        deep[i * 9] = MPROC_FIELD_PACK;
        uint64_t len = (uint64_t)(DEPTH - 1 - i) * 9;
        for (int k = 0; k < 8; k++)
            deep[i * 9 + 1 + k] = (uint8_t)(len >> (8 * k));
    }
    assert_rc(mproc_pack_repr(&(mproc_bytes){deep, sizeof deep}, &text), MPROC_EINVAL);
    assert_null(text.data);
}

/* A pack's bytes are the same on every host: little-endian, whatever the CPU. These 80
 * bytes were written on x86_64 (print mproc_pack_view of the pack built below to
 * regenerate them); a big-endian host (the s390x target) must write exactly them and read
 * them back to the same values. */
static const unsigned char pack_written_on_x86_64[] = {
    0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xf8, 0xbf, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x00, 0x04, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x05, 0x14, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03, 0x02, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void pack_bytes_are_little_endian(void **state)
{
    (void)state;
    mproc_pack *p, *inner;
    assert_ok(mproc_pack_create(&p));
    assert_ok(mproc_pack_create(&inner));
    assert_ok(MPROC_PACK(inner, (int64_t)-2, "x"));
    assert_ok(MPROC_PACK(p, (int64_t)0x0102030405060708LL, -1.5, "ab",
                         MPROC_BYTES("\x01\x02\x03", 3), inner, true));
    mproc_bytes view;
    assert_ok(mproc_pack_view(p, &view));
    assert_int_equal(view.len, sizeof pack_written_on_x86_64);
    assert_memory_equal(view.data, pack_written_on_x86_64, view.len);

    mproc_unpacker u, in;
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    const void *data = NULL;
    size_t n = 0;
    assert_ok(mproc_unpack_init(
        &u, &(mproc_bytes){(void *)pack_written_on_x86_64, sizeof pack_written_on_x86_64}));
    assert_ok(mproc_unpack_i64(&u, &i));
    assert_true(i == 0x0102030405060708LL);
    assert_ok(mproc_unpack_f64(&u, &d));
    assert_true(d == -1.5);
    assert_ok(mproc_unpack_str(&u, &s));
    assert_string_equal(s, "ab");
    assert_ok(mproc_unpack_bytes(&u, &data, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(data, "\x01\x02\x03", 3);
    assert_ok(mproc_unpack_pack(&u, &in));
    assert_ok(mproc_unpack_i64(&in, &i));
    assert_int_equal(i, -2);
    assert_ok(mproc_unpack_str(&in, &s));
    assert_string_equal(s, "x");
    assert_ok(mproc_unpack_i64(&u, &i));
    assert_int_equal(i, 1);
    assert_int_equal(mproc_unpack_remaining(&u), 0);
    mproc_pack_destroy(inner);
    mproc_pack_destroy(p);
}

/* Lengths past what a 32-bit size_t holds: a reader must refuse them, never cut them to
 * 32 bits (2^32 + 1 would read as 1, and the one byte that follows would pass). The same
 * checks hold on 64-bit hosts, where the lengths are simply past the input. */
static void sizes_past_32_bits(void **state)
{
    (void)state;
    const void *data;
    size_t n;
    mproc_unpacker u;
    unsigned char bytes_4g1[] = {MPROC_FIELD_BYTES, 1, 0, 0, 0, 1, 0, 0, 0, 'x'};
    mproc_unpack_init(&u, &(mproc_bytes){bytes_4g1, sizeof bytes_4g1});
    assert_rc(mproc_unpack_bytes(&u, &data, &n), MPROC_EINVAL);
    assert_rc(mproc_unpack_remaining(&u), MPROC_EINVAL);
    unsigned char str_4g2[] = {MPROC_FIELD_STR, 2, 0, 0, 0, 1, 0, 0, 0, 'x', 0};
    const char *s;
    mproc_unpack_init(&u, &(mproc_bytes){str_4g2, sizeof str_4g2});
    assert_rc(mproc_unpack_str(&u, &s), MPROC_EINVAL);
    unsigned char pack_4g[] = {MPROC_FIELD_PACK, 0, 0, 0, 0, 1, 0, 0, 0};
    mproc_unpacker inner;
    mproc_unpack_init(&u, &(mproc_bytes){pack_4g, sizeof pack_4g});
    assert_rc(mproc_unpack_pack(&u, &inner), MPROC_EINVAL);
    mproc_bytes whole = {bytes_4g1, sizeof bytes_4g1}, field;
    assert_rc(MPROC_UNPACK(&whole, &field), MPROC_EINVAL);

    /* A pipe's frame header announcing what this process could not hold (2^32 + 3 bytes on a
     * 32-bit host, 2^64 - 1 on a 64-bit one) is MPROC_ETOOBIG, and stays so: the body that
     * follows is never taken for the next message. */
    mproc_conn *r, *w;
    assert_ok(mproc_pipe(&r, &w, false));
    uint64_t announced = SIZE_MAX > UINT32_MAX ? UINT64_MAX : ((uint64_t)1 << 32) + 3;
    unsigned char head[8 + 3] = {0};
    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char)(announced >> (8 * i));
    memcpy(head + 8, "abc", 3);
    size_t done = 0;
    assert_ok(
        mpp_conn_write(mproc__conn_os(w), head, sizeof head, mpp_monotonic_ms() + 5000, &done));
    assert_int_equal(done, sizeof head);
    mproc_bytes msg = {0};
    assert_rc(mproc_conn_recv(r, 5000, &msg), MPROC_ETOOBIG);
    assert_null(msg.data);
    assert_rc(mproc_conn_recv(r, 0, &msg), MPROC_ETOOBIG);
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
}

static void pack_bad_input(void **state)
{
    (void)state;
    mproc_pack *p;
    assert_rc(mproc_pack_create(NULL), MPROC_EINVAL);
    assert_rc(mproc_pack_i64(NULL, 1), MPROC_EINVAL);
    assert_rc(mproc_pack_f64(NULL, 1), MPROC_EINVAL);
    assert_rc(mproc_pack_str(NULL, "x"), MPROC_EINVAL);
    assert_rc(mproc_pack_bytes(NULL, "x", 1), MPROC_EINVAL);
    assert_rc(mproc_pack_reset(NULL), MPROC_EINVAL);
    assert_rc(mproc_pack_count(NULL), MPROC_EINVAL);
    assert_ok(mproc_pack_create(&p));
    assert_rc(mproc_pack_bytes(p, NULL, 5), MPROC_EINVAL);
    assert_rc(mproc_pack_pack(p, NULL), MPROC_EINVAL);
    assert_rc(mproc_pack_pack(p, p), MPROC_EINVAL);
    assert_rc(mproc_pack_view(p, NULL), MPROC_EINVAL);
    assert_rc(mproc_pack_view(NULL, &(mproc_bytes){0}), MPROC_EINVAL);
    assert_int_equal(mproc_pack_count(p), 0); /* failed appends leave nothing behind */
    mproc_pack_destroy(p);
    mproc_pack_destroy(NULL);

    mproc_unpacker u;
    int64_t i;
    const char *s;
    assert_rc(mproc_unpack_init(NULL, &(mproc_bytes){0}), MPROC_EINVAL);
    assert_rc(mproc_unpack_init(&u, NULL), MPROC_EINVAL);
    assert_rc(mproc_unpack_init(&u, &(mproc_bytes){NULL, 5}), MPROC_EINVAL);
    assert_ok(mproc_unpack_init(&u, &(mproc_bytes){NULL, 0}));
    assert_int_equal(mproc_unpack_peek(&u), 0);
    assert_int_equal(mproc_unpack_remaining(&u), 0);
    assert_rc(mproc_unpack_i64(&u, &i), MPROC_EINVAL);
    assert_rc(mproc_unpack_i64(&u, NULL), MPROC_EINVAL);
    assert_rc(mproc_unpack_str(NULL, &s), MPROC_EINVAL);
    assert_rc(mproc_unpack_peek(NULL), MPROC_EINVAL);
    u.pos = 10; /* a cursor broken by hand */
    assert_rc(mproc_unpack_skip(&u), MPROC_EINVAL);
}

static int noop_task(const mproc_bytes *in, mproc_pack *out)
{
    (void)in;
    (void)out;
    return 0;
}

static int other_task(const mproc_bytes *in, mproc_pack *out)
{
    (void)in;
    (void)out;
    return 1;
}

MPROC_TASK(registered_by_macro, in, out)
{
    (void)in;
    (void)out;
    return 3;
}

static void task_registry(void **state)
{
    (void)state;
    assert_ptr_equal(mproc_task_lookup("registered_by_macro"), registered_by_macro);
    assert_null(mproc_task_lookup("never_registered"));
    assert_null(mproc_task_lookup(NULL));
    assert_ok(mproc_task_register("core.noop-1:x", noop_task));
    assert_ok(mproc_task_register("core.noop-1:x", noop_task)); /* same again: fine */
    assert_rc(mproc_task_register("core.noop-1:x", other_task), MPROC_EEXIST);
    assert_rc(mproc_task_register("", noop_task), MPROC_EINVAL);
    assert_rc(mproc_task_register("has space", noop_task), MPROC_EINVAL);
    assert_rc(mproc_task_register("slash/no", noop_task), MPROC_EINVAL);
    assert_rc(mproc_task_register(NULL, noop_task), MPROC_EINVAL);
    assert_rc(mproc_task_register("ok", NULL), MPROC_EINVAL);
    char longest[MPROC_TASK_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[MPROC_TASK_NAME_MAX] = 0;
    assert_ok(mproc_task_register(longest, noop_task));
    longest[MPROC_TASK_NAME_MAX] = 'a';
    longest[MPROC_TASK_NAME_MAX + 1] = 0;
    assert_rc(mproc_task_register(longest, noop_task), MPROC_EINVAL);
}

MPROC_TASK_ARGS(typed_next, out, int64_t, n, const char *, label)
{
    return MPROC_PACK(out, n + 1, label);
}

MPROC_TASK_NOARGS(typed_none, out)
{
    return MPROC_PACK(out, 7);
}

/* Runs a registered task in this process on the pack p (destroyed); result receives the
 * bytes the task wrote to its out pack. Returns the task's code. */
static int run_here(const char *name, mproc_pack *p, mproc_bytes *result)
{
    mproc_task_fn fn = mproc_task_lookup(name);
    assert_non_null(fn);
    mproc_bytes in, view;
    assert_ok(mproc_pack_view(p, &in));
    mproc_pack *out;
    assert_ok(mproc_pack_create(&out));
    int code = fn(&in, out);
    assert_ok(mproc_pack_view(out, &view));
    assert_ok(mproc_bytes_copy(result, view.data, view.len));
    mproc_pack_destroy(out);
    mproc_pack_destroy(p);
    return code;
}

static mproc_pack *fresh_pack(void)
{
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    return p;
}

/* MPROC_TASK_ARGS reads the arguments for the body; MPROC_TASK_NOARGS takes none. Wrong
 * arguments fail the task, with a text, before the body runs. */
static void typed_tasks(void **state)
{
    (void)state;
    mproc_bytes r;
    int64_t n = 0;
    const char *text = NULL;
    mproc_pack *p = fresh_pack();
    assert_ok(MPROC_PACK(p, 41, "x"));
    assert_int_equal(run_here("typed_next", p, &r), 0);
    assert_ok(MPROC_UNPACK(&r, &n, &text));
    assert_int_equal(n, 42);
    assert_string_equal(text, "x");
    mproc_bytes_free(&r);

    mproc_pack *wrong[3] = {fresh_pack(), fresh_pack(), fresh_pack()};
    assert_ok(MPROC_PACK(wrong[0], "x", 41));    /* another type */
    assert_ok(MPROC_PACK(wrong[1], 41));         /* too few */
    assert_ok(MPROC_PACK(wrong[2], 41, "x", 1)); /* too many */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_here("typed_next", wrong[i], &r), 1);
        assert_ok(MPROC_UNPACK(&r, &text));
        assert_non_null(strstr(text, "task 'typed_next': bad arguments: "));
        mproc_bytes_free(&r);
    }

    assert_int_equal(run_here("typed_none", fresh_pack(), &r), 0);
    assert_ok(MPROC_UNPACK(&r, &n));
    assert_int_equal(n, 7);
    mproc_bytes_free(&r);
    p = fresh_pack();
    assert_ok(mproc_pack_i64(p, 1));
    assert_int_equal(run_here("typed_none", p, &r), 1);
    assert_ok(MPROC_UNPACK(&r, &text));
    assert_non_null(strstr(text, "task 'typed_none': bad arguments: "));
    mproc_bytes_free(&r);
}

static void log_levels(void **state)
{
    (void)state;
    assert_int_equal(mproc_log_level(), MPROC_LOG_WARNING); /* Python's default */
    assert_int_equal(mproc_log_to_stderr(MPROC_LOG_OFF), MPROC_LOG_WARNING);
    assert_ok(mproc_log(MPROC_LOG_CRITICAL, "not shown %d", 1));
    assert_rc(mproc_log(MPROC_LOG_INFO, NULL), MPROC_EINVAL);
    mproc_log_to_stderr(MPROC_LOG_DEBUG);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_ok(mproc_log(MPROC_LOG_INFO, "%s", big)); /* long records are cut, not overrun */
    assert_ok(mproc_log(77, "custom level"));
}

static char *quoted(const char *arg)
{
    mproc__buf b = {0};
    assert_ok(mproc__win_quote_arg(&b, arg));
    mproc__buf_append(&b, "", 1);
    return (char *)b.data;
}

static void win_quoting_rules(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"", "\"\""},
        {"two words", "\"two words\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"C:\\path\\", "C:\\path\\"},
        {"C:\\a dir\\", "\"C:\\a dir\\\\\""},
        {"a\\\\\"b", "\"a\\\\\\\\\\\"b\""},
        {"tab\there", "\"tab\there\""},
        {"ünï cødé", "\"ünï cødé\""},
        {"\\\\server\\share", "\\\\server\\share"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *q = quoted(cases[i].in);
        if (strcmp(q, cases[i].out) != 0)
            fail_msg("quote(%s) = %s, wanted %s", cases[i].in, q, cases[i].out);
        mproc_free(q);
    }
    mproc__buf line = {0};
    const char *argv[] = {"C:\\Program Files\\x.exe", "a b", "", NULL};
    assert_ok(mproc__win_build_cmdline(&line, argv));
    assert_string_equal((char *)line.data, "\"C:\\Program Files\\x.exe\" \"a b\" \"\"");
    mproc__buf_free(&line);
    const char *bad[] = {"has\"quote", NULL};
    assert_rc(mproc__win_build_cmdline(&line, bad), MPROC_EINVAL);
    assert_rc(mproc__win_quote_arg(&line, NULL), MPROC_EINVAL);
    mproc__buf_free(&line);
}

/* ---- one call builds, one call reads (mproc/values.h) ------------------------------------ */

static void values_round_trip(void **state)
{
    (void)state;
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    unsigned char small = 200;
    size_t size = 12345;
    bool yes = true;
    float half = 0.5f;
    assert_ok(MPROC_PACK(p, 1, -2LL, 3.5, "four", MPROC_BYTES("ab", 2), small, size, yes, half,
                         lock, MPROC_ARGS(7, "x")));
    assert_int_equal(mproc_pack_count(p), 11);
    mproc_bytes bytes;
    assert_ok(mproc_pack_view(p, &bytes));
    int i;
    long long ll;
    double d;
    const char *s;
    mproc_bytes b;
    unsigned char c;
    size_t z;
    bool flag;
    float f;
    mproc_lock *lock2;
    mproc_unpacker inner;
    assert_ok(MPROC_UNPACK(&bytes, &i, &ll, &d, &s, &b, &c, &z, &flag, &f, &lock2, &inner));
    assert_int_equal(i, 1);
    assert_int_equal(ll, -2);
    assert_true(d == 3.5);
    assert_string_equal(s, "four");
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "ab", 2);
    assert_int_equal(c, 200);
    assert_int_equal(z, 12345);
    assert_true(flag);
    assert_true(f == 0.5f);
    /* The lock came back as a handle of its own, to the same lock. */
    assert_ok(mproc_lock_acquire(lock, 0));
    assert_int_equal(mproc_lock_locked(lock2), 1);
    assert_ok(mproc_lock_release(lock2));
    mproc_lock_destroy(lock2);
    /* The nested literal is a nested pack. */
    int64_t seven;
    const char *x;
    mproc_bytes nested = {(void *)inner.data, inner.len};
    assert_ok(MPROC_UNPACK(&nested, &seven, &x));
    assert_int_equal(seven, 7);
    assert_string_equal(x, "x");
    /* NULL skips a field; an mproc_arg takes any field but an object. */
    mproc_arg any;
    assert_ok(
        MPROC_UNPACK(&bytes, NULL, NULL, NULL, &any, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    assert_int_equal(any.type, MPROC_FIELD_STR);
    assert_string_equal(any.as.str, "four");
    mproc_pack_destroy(p);
    mproc_lock_destroy(lock);
}

static void values_refused(void **state)
{
    (void)state;
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    /* Nothing is appended by a call that fails. */
    const char *none = NULL;
    assert_rc(MPROC_PACK(p, 1, none), MPROC_EINVAL);
    assert_rc(MPROC_PACK(p, 1, 18446744073709551615ULL), MPROC_ETOOBIG);
    assert_int_equal(mproc_pack_count(p), 0);
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    assert_ok(MPROC_PACK(p, 300, lock, "s"));
    mproc_bytes bytes;
    assert_ok(mproc_pack_view(p, &bytes));
    int64_t n;
    mproc_lock *got = NULL;
    const char *s;
    double d;
    signed char tiny;
    /* Wrong type, too few and too many destinations, out of range. */
    assert_rc(MPROC_UNPACK(&bytes, &d, &got, &s), MPROC_ETYPE);
    assert_rc(MPROC_UNPACK(&bytes, &n, &got), MPROC_EINVAL);
    assert_null(got); /* opened, then closed again: the call failed */
    assert_rc(MPROC_UNPACK(&bytes, &n, &got, &s, &s), MPROC_EINVAL);
    assert_null(got);
    assert_rc(MPROC_UNPACK(&bytes, &tiny, &got, &s), MPROC_ETOOBIG);
    assert_rc(MPROC_UNPACK(&bytes, &n, &s, &s), MPROC_ETYPE);
    mproc_sem *sem = NULL;
    /* An object of another kind is refused by its typed open. */
    assert_rc(MPROC_UNPACK(&bytes, &n, &sem, &s), MPROC_ETYPE);
    assert_null(sem);
    mproc_arg any;
    assert_rc(MPROC_UNPACK(&bytes, NULL, &any, NULL), MPROC_ETYPE);
    /* Corrupt or missing input. */
    mproc_bytes cut = {bytes.data, bytes.len - 1};
    assert_rc(MPROC_UNPACK(&cut, &n, &got, &s), MPROC_EINVAL);
    assert_null(got);
    assert_rc(MPROC_UNPACK(NULL, &n), MPROC_EINVAL);
    mproc_bytes empty = {NULL, 0};
    assert_rc(MPROC_UNPACK(&empty, &n), MPROC_EINVAL);
    /* A literal is read-only: it has no bytes of its own to view, nor can it grow. */
    assert_rc(mproc_pack_view(MPROC_ARGS(1), &bytes), MPROC_EINVAL);
    assert_rc(mproc_pack_i64((mproc_pack *)MPROC_ARGS(1), 2), MPROC_EINVAL);
    assert_int_equal(mproc_pack_count(MPROC_ARGS(1, 2, 3)), 3);
    mproc_pack_destroy(p);
    mproc_lock_destroy(lock);
}

MPROC_TASK(values_child_reads, in, out)
{
    (void)out;
    const char *who;
    int64_t n;
    mproc_event *done;
    if (MPROC_UNPACK(in, &who, &n, &done))
        return 2;
    int rc = strcmp(who, "bob") == 0 && n == 42 ? mproc_event_set(done) : 3;
    mproc_event_destroy(done);
    return rc;
}

/* A pack literal as a Process's args: read once at create, nothing to destroy. */
static void values_literal_as_process_args(mproc_start_method method)
{
    mproc_event *done;
    assert_ok(mproc_event_create(&done));
    mproc_process *p = harness_start(method, "values_child_reads", MPROC_ARGS("bob", 42, done));
    if (p) {
        assert_int_equal(harness_join_code(p), 0);
        assert_ok(mproc_event_wait(done, 0));
    }
    mproc_event_destroy(done);
}

#ifdef _WIN32
#include <windows.h>
static const char *const hard_args[] = {"",
                                        " ",
                                        "a\"b",
                                        "\"",
                                        "\\",
                                        "a\\",
                                        "a b\\",
                                        "a\\\\b c",
                                        "\\\"",
                                        "x\\\\\"y z",
                                        "tab\tend",
                                        "ünï cødé 世界",
                                        "trailing\\\\",
                                        "\"quoted\"",
                                        NULL};

/* In the child: does CommandLineToArgvW of our own command line give hard_args back? */
static int check_own_command_line(void)
{
    typedef wchar_t **(WINAPI * parse_fn)(const wchar_t *, int *);
    HMODULE shell32 = LoadLibraryW(L"shell32.dll");
    parse_fn parse =
        shell32 ? (parse_fn)(void (*)(void))GetProcAddress(shell32, "CommandLineToArgvW") : NULL;
    if (!parse)
        return 2;
    int argc = 0;
    wchar_t **argv = parse(GetCommandLineW(), &argc);
    int expected = 0;
    while (hard_args[expected])
        expected++;
    if (!argv || argc != expected + 2)
        return 3;
    for (int i = 0; i < expected; i++) {
        char back[512];
        WideCharToMultiByte(CP_UTF8, 0, argv[i + 2], -1, back, sizeof back, NULL, NULL);
        if (strcmp(back, hard_args[i]) != 0) {
            fprintf(stderr, "argument %d: sent [%s], read back [%s]\n", i, hard_args[i], back);
            return 4;
        }
    }
    return 0;
}

/* The other way round: a real CreateProcessW with the line we build, read back by
 * CommandLineToArgvW in the child. */
static void win_quoting_round_trip(void **state)
{
    (void)state;
    wchar_t exe_w[MAX_PATH];
    GetModuleFileNameW(NULL, exe_w, MAX_PATH);
    char exe[3 * MAX_PATH];
    WideCharToMultiByte(CP_UTF8, 0, exe_w, -1, exe, sizeof exe, NULL, NULL);
    const char *argv[32] = {exe, "--parse-check"};
    for (int i = 0; hard_args[i]; i++)
        argv[i + 2] = hard_args[i];
    mproc__buf line = {0};
    assert_ok(mproc__win_build_cmdline(&line, argv));
    int wlen = MultiByteToWideChar(CP_UTF8, 0, (char *)line.data, -1, NULL, 0);
    wchar_t *wline = mproc_malloc((size_t)wlen * sizeof *wline);
    MultiByteToWideChar(CP_UTF8, 0, (char *)line.data, -1, wline, wlen);
    STARTUPINFOW si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    assert_true(CreateProcessW(exe_w, wline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    assert_int_equal(WaitForSingleObject(pi.hProcess, 60000), WAIT_OBJECT_0);
    DWORD code = 99;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    mproc_free(wline);
    mproc__buf_free(&line);
    assert_int_equal(code, 0);
}
#else
static void win_quoting_round_trip(void **state)
{
    (void)state;
    skip(); /* CommandLineToArgvW exists only on Windows; the Wine run covers it */
}
#endif

#define HARNESS_CASES "cases/core.txt"
#define HARNESS_OWN_MAIN
#include "harness_main.h"

int main(int argc, char **argv)
{
#ifdef _WIN32
    if (argc >= 2 && strcmp(argv[1], "--parse-check") == 0)
        return check_own_command_line();
#endif
    return harness_run(argc, argv);
}
