/* The manager's wire, both sides: framed streams and the authentication handshake
 * (doc/manager-protocol.md, "Transport" and "Authentication"). */
#include "manager/private.h"
#include "base/sha256.h"

#define HELLO_MAGIC "MPROCMGR"
#define PROTO_VERSION 2u
#define NONCE_LEN 32
#define HELLO_LEN (8 + 4 + 8 + NONCE_LEN)              /* magic, version, max_message, nonce */
#define ANSWER_LEN (MPROC__SHA256_LEN + NONCE_LEN + 8) /* mac, client nonce, client token */
#define PRE_AUTH_MAX 256                               /* largest frame before authentication */

/* ---- framed streams ---------------------------------------------------------------------- */
/* Reads exactly len bytes before the deadline. stop (may be NULL) is polled between
 * slices: a stopping server gives up with MPROC_ECLOSED. */
static int read_exact(stream *s, void *dst, size_t len, int64_t deadline, const bool *stop)
{
    uint8_t *p = dst;
    while (len) {
        if (s->rpos < s->rlen) {
            size_t n = s->rlen - s->rpos < len ? s->rlen - s->rpos : len;
            memcpy(p, s->rb + s->rpos, n);
            s->rpos += n, p += n, len -= n;
            continue;
        }
        if (stop && mproc__load(stop))
            return MPROC_ECLOSED;
        int64_t slice = deadline;
        if (stop) {
            int64_t soon = mpp_monotonic_ms() + POLL_MS;
            slice = deadline < 0 || deadline > soon ? soon : deadline;
        }
        size_t got = 0;
        int rc;
        if (len >= sizeof s->rb) { /* a big body: straight into place */
            rc = mpp_conn_read(s->conn, p, len, slice, &got);
            p += got, len -= got;
        } else {
            rc = mpp_conn_read(s->conn, s->rb, sizeof s->rb, slice, &got);
            s->rpos = 0, s->rlen = got;
        }
        if (rc)
            return rc;
        if (!got && slice == deadline && mproc__remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
    }
    return 0;
}

int mproc__mgr_read_frame(stream *s, size_t max, int64_t deadline, const bool *stop, size_t *size)
{
    uint8_t head[4];
    int rc = read_exact(s, head, 4, deadline, stop);
    if (rc)
        return rc;
    *size = mproc__get_u32le(head);
    if (*size > max)
        return MPROC_ETOOBIG;
    s->frame.len = 0;
    rc = mproc__buf_reserve(&s->frame, *size ? *size : 1);
    if (rc)
        return rc;
    /* The body follows the head at once: a short stall here is a broken peer, not a slow
     * one, unless the frame is big. */
    rc = read_exact(s, s->frame.data, *size, deadline, stop);
    if (!rc)
        s->frame.len = *size;
    /* Closed mid-frame (not by a stopping server): a broken peer. */
    return rc == MPROC_ECLOSED && !(stop && mproc__load(stop)) ? MPROC_EPROTO : rc;
}

int mproc__mgr_write_frame(stream *s, const void *data, size_t len, int64_t deadline)
{
    if (len > UINT32_MAX)
        return MPROC_ETOOBIG;
    uint8_t head[4];
    mproc__put_u32le(head, (uint32_t)len);
    size_t done = 0;
    int rc;
    if (len <= 65536) { /* one write for head and body */
        s->out.len = 0;
        rc = mproc__buf_append(&s->out, head, 4);
        rc = rc ? rc : mproc__buf_append(&s->out, data, len);
        if (rc)
            return rc;
        rc = mpp_conn_write(s->conn, s->out.data, s->out.len, deadline, &done);
        return rc ? rc : done < s->out.len ? MPROC_ETIMEDOUT : 0;
    }
    rc = mpp_conn_write(s->conn, head, 4, deadline, &done);
    if (!rc && done == 4)
        rc = mpp_conn_write(s->conn, data, len, deadline, &done);
    return rc ? rc : done < len ? MPROC_ETIMEDOUT : 0;
}

void mproc__mgr_stream_free(stream *s)
{
    if (s->conn)
        mpp_conn_close(s->conn);
    mproc__buf_free(&s->frame);
    mproc__buf_free(&s->out);
    mproc_free(s);
}

/* ---- the handshake ----------------------------------------------------------------------- */
static void mac_of(const uint8_t *key, size_t key_len, const char *label, const uint8_t *nonce,
                   uint8_t out[MPROC__SHA256_LEN])
{
    mproc__hmac_sha256_2(key, key_len, label, strlen(label), nonce, NONCE_LEN, out);
}

void mproc__mgr_reject(const char *address, const char *why)
{
    mproc_log(MPROC_LOG_WARNING, "manager %s: closed a connection: %s", address, why);
}

int mproc__mgr_server_handshake(stream *st, const uint8_t *key, size_t key_len, size_t max_message,
                                const bool *stop, const char *address, uint64_t *token)
{
    uint8_t hello[HELLO_LEN], nonce_c[NONCE_LEN], mac[MPROC__SHA256_LEN];
    memcpy(hello, HELLO_MAGIC, 8);
    mproc__put_u32le(hello + 8, PROTO_VERSION);
    mproc__put_u64le(hello + 12, max_message);
    if (mpp_random_bytes(hello + 20, NONCE_LEN))
        return MPROC_EOS;
    int64_t deadline = mproc__deadline(10000);
    size_t size;
    int rc = mproc__mgr_write_frame(st, hello, HELLO_LEN, deadline);
    rc = rc ? rc : mproc__mgr_read_frame(st, PRE_AUTH_MAX, deadline, stop, &size);
    if (rc == MPROC_ETOOBIG) {
        mproc__mgr_reject(address, "oversized frame before authentication");
        return rc;
    }
    if (rc)
        return rc;
    if (size != ANSWER_LEN) {
        mproc__mgr_reject(address, "malformed authentication answer");
        return MPROC_EPROTO;
    }
    mac_of(key, key_len, "mproc-client", hello + 20, mac);
    if (!mproc__equal_ct(mac, st->frame.data, MPROC__SHA256_LEN)) {
        mproc__mgr_reject(address, "wrong authentication key");
        mproc__mgr_write_frame(st, "FAIL", 4, deadline);
        return MPROC_EAUTH;
    }
    memcpy(nonce_c, st->frame.data + MPROC__SHA256_LEN, NONCE_LEN);
    *token = mproc__get_u64le(st->frame.data + MPROC__SHA256_LEN + NONCE_LEN);
    mac_of(key, key_len, "mproc-server", nonce_c, mac);
    return mproc__mgr_write_frame(st, mac, sizeof mac, deadline);
}

int mproc__mgr_client_handshake(stream *st, const uint8_t *key, size_t key_len, uint64_t token,
                                int64_t deadline, size_t *max_message)
{
    size_t size;
    int rc = mproc__mgr_read_frame(st, PRE_AUTH_MAX, deadline, NULL, &size);
    if (rc)
        return rc == MPROC_ETOOBIG ? MPROC_EPROTO : rc;
    const uint8_t *hello = st->frame.data;
    if (size != HELLO_LEN || memcmp(hello, HELLO_MAGIC, 8) ||
        mproc__get_u32le(hello + 8) != PROTO_VERSION)
        return MPROC_EPROTO;
    uint64_t max = mproc__get_u64le(hello + 12);
    uint8_t answer[ANSWER_LEN], nonce_c[NONCE_LEN], mac[MPROC__SHA256_LEN];
    mac_of(key, key_len, "mproc-client", hello + 20, answer);
    if ((rc = mpp_random_bytes(nonce_c, NONCE_LEN)) != 0)
        return rc;
    memcpy(answer + MPROC__SHA256_LEN, nonce_c, NONCE_LEN);
    mproc__put_u64le(answer + MPROC__SHA256_LEN + NONCE_LEN, token);
    rc = mproc__mgr_write_frame(st, answer, sizeof answer, deadline);
    rc = rc ? rc : mproc__mgr_read_frame(st, PRE_AUTH_MAX, deadline, NULL, &size);
    if (rc)
        return rc == MPROC_ECLOSED || rc == MPROC_ETOOBIG ? MPROC_EAUTH : rc;
    mac_of(key, key_len, "mproc-server", nonce_c, mac);
    if (size != MPROC__SHA256_LEN || !mproc__equal_ct(mac, st->frame.data, MPROC__SHA256_LEN))
        return MPROC_EAUTH; /* "FAIL", or a server that does not know the key */
    *max_message = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
    return 0;
}
