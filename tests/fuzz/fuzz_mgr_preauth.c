/* The manager's server before authentication: the bytes are what a client sends first,
 * read by the server's own handshake on one end of an in-process pipe (preloaded into the
 * stream's buffer, so that the handshake never waits for more). Properties: the server
 * sends its hello first, closes with the reason the bytes call for (a short read, an
 * oversized or malformed answer, a wrong key: this target cannot know the nonce), and
 * says FAIL only for a wrong key. */
#include "fuzz.h"

#include "manager/private.h"

#define HELLO_LEN 52  /* magic, version, max_message, nonce (wire.c) */
#define ANSWER_LEN 72 /* mac, client nonce, client token */
#define PRE_AUTH_MAX 256
#define MAX_MESSAGE ((size_t)1 << 20)

static bool stop_now = true; /* the reader takes what is buffered, then gives up */

/* What the server must answer to these bytes. */
static int expected(const uint8_t *data, size_t size)
{
    if (size < 4)
        return MPROC_ECLOSED;
    uint32_t len = mproc__get_u32le(data);
    if (len > PRE_AUTH_MAX)
        return MPROC_ETOOBIG;
    if (size - 4 < len)
        return MPROC_ECLOSED;
    return len == ANSWER_LEN ? MPROC_EAUTH : MPROC_EPROTO;
}

/* Reads exactly len bytes the server wrote. */
static void read_back(mpp_conn *c, uint8_t *dst, size_t len)
{
    while (len) {
        size_t got = 0;
        FUZZ_CHECK(mpp_conn_read(c, dst, len, mproc__deadline(5000), &got) == 0 && got);
        dst += got, len -= got;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) /* every rejected connection is logged: millions of lines otherwise */
        mproc_log_to_stderr(MPROC_LOG_OFF), quiet = true;
    static const uint8_t key[] = "the fuzz target's key";
    mpp_conn *server_end, *client_end;
    FUZZ_CHECK(mpp_pipe(&server_end, &client_end, true) == 0);
    stream *st = mproc_calloc(1, sizeof *st);
    FUZZ_CHECK(st != NULL);
    st->conn = server_end;
    st->rlen = size < sizeof st->rb ? size : sizeof st->rb;
    memcpy(st->rb, data, st->rlen);
    uint64_t token = 0;
    int rc = mproc__mgr_server_handshake(st, key, sizeof key - 1, MAX_MESSAGE, &stop_now, "fuzz",
                                         &token);
    FUZZ_CHECK(rc == expected(data, st->rlen));

    uint8_t hello[4 + HELLO_LEN];
    read_back(client_end, hello, sizeof hello);
    FUZZ_CHECK(mproc__get_u32le(hello) == HELLO_LEN && !memcmp(hello + 4, "MPROCMGR", 8));
    FUZZ_CHECK(mproc__get_u32le(hello + 12) == 2 && mproc__get_u64le(hello + 16) == MAX_MESSAGE);
    if (rc == MPROC_EAUTH) {
        uint8_t fail[8];
        read_back(client_end, fail, sizeof fail);
        FUZZ_CHECK(mproc__get_u32le(fail) == 4 && !memcmp(fail + 4, "FAIL", 4));
    }
    /* Nothing else: no answer to a client that did not prove the key. */
    uint8_t more;
    size_t got = 0;
    mpp_conn_close(server_end);
    st->conn = NULL;
    rc = mpp_conn_read(client_end, &more, 1, mproc__deadline(5000), &got);
    FUZZ_CHECK(rc == MPROC_ECLOSED && got == 0);
    mpp_conn_close(client_end);
    mproc__mgr_stream_free(st);
    return 0;
}
