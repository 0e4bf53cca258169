/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), dependency-free, for the manager's
 * authentication handshake. Internal: not part of the public API. */
#ifndef MPROC_SHA256_H
#define MPROC_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPROC__SHA256_LEN 32

/* Running state of one digest: chaining value, bytes hashed so far, and the partial block
 * not yet compressed (fill bytes of it). */
typedef struct mproc__sha256 {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[64];
    size_t fill;
} mproc__sha256;

void mproc__sha256_init(mproc__sha256 *s);
void mproc__sha256_update(mproc__sha256 *s, const void *data, size_t len);
/* Writes the digest and wipes the state (init it again to reuse it). */
void mproc__sha256_final(mproc__sha256 *s, uint8_t out[MPROC__SHA256_LEN]);

/* HMAC-SHA256 of msg under key; a key longer than 64 bytes is hashed first (RFC 2104).
 * NULL is allowed for a zero-length key or message. */
void mproc__hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        uint8_t out[MPROC__SHA256_LEN]);
/* Two-part message variant (label + nonce without concatenating): the HMAC of a || b. */
void mproc__hmac_sha256_2(const void *key, size_t key_len, const void *a, size_t a_len,
                          const void *b, size_t b_len, uint8_t out[MPROC__SHA256_LEN]);

/* Constant-time compare: true when equal; time depends only on len. */
bool mproc__equal_ct(const void *a, const void *b, size_t len);

#endif
