/* SHA-256 after FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2) and HMAC after
 * RFC 2104, with no dependency beyond the C library. All word arithmetic is on uint32_t
 * (arithmetic modulo 2^32, shifts by 1..31), and bytes are widened to uint32_t before
 * being shifted, so nothing here relies on int's width or on signed overflow. */
#include <string.h>

#include "base/sha256.h"

#define BLOCK 64

/* Overwrites n bytes through a volatile pointer so that the stores are not dropped as
 * dead (the buffers wiped here are about to go out of scope). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* n is always a constant in 1..31 here. */
static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)(x >> 24);
    p[1] = (uint8_t)(x >> 16);
    p[2] = (uint8_t)(x >> 8);
    p[3] = (uint8_t)x;
}

/* One application of the compression function to a 64-byte block (FIPS 180-4 6.2.2). */
static void compress(uint32_t h[8], const uint8_t *block)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
    wipe(w, sizeof w);
}

void mproc__sha256_init(mproc__sha256 *s)
{
    /* First 32 bits of the fractional parts of the square roots of the first 8 primes. */
    static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, H0, sizeof H0);
    s->total = 0;
    memset(s->block, 0, sizeof s->block);
    s->fill = 0;
}

void mproc__sha256_update(mproc__sha256 *s, const void *data, size_t len)
{
    if (len == 0) /* data may then be NULL, which memcpy must not see */
        return;
    const uint8_t *p = data;
    s->total += (uint64_t)len; /* bytes; FIPS limits a message to 2^64 - 1 bits */
    if (s->fill > 0) {
        size_t take = BLOCK - s->fill;
        if (take > len)
            take = len;
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        len -= take;
        if (s->fill < BLOCK)
            return;
        compress(s->h, s->block);
        s->fill = 0;
    }
    for (; len >= BLOCK; p += BLOCK, len -= BLOCK)
        compress(s->h, p);
    if (len > 0) {
        memcpy(s->block, p, len);
        s->fill = len;
    }
}

void mproc__sha256_final(mproc__sha256 *s, uint8_t out[MPROC__SHA256_LEN])
{
    /* Padding (5.1.1): a 1 bit, zeros up to 56 bytes into a block, then the message length
     * in bits as a 64-bit big-endian number. Bytes times 8 is taken modulo 2^64, on an
     * unsigned type, so a huge total cannot overflow anything. */
    uint64_t bits = s->total << 3;
    s->block[s->fill++] = 0x80;
    if (s->fill > BLOCK - 8) {
        memset(s->block + s->fill, 0, BLOCK - s->fill);
        compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, BLOCK - 8 - s->fill);
    for (int i = 0; i < 8; i++)
        s->block[BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress(s->h, s->block);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, s->h[i]);
    wipe(s, sizeof *s);
}

void mproc__hmac_sha256_2(const void *key, size_t key_len, const void *a, size_t a_len,
                          const void *b, size_t b_len, uint8_t out[MPROC__SHA256_LEN])
{
    /* K0 (RFC 2104 step 1): the key padded with zeros to the block size, or, when longer
     * than a block, its digest padded the same way. */
    uint8_t k0[BLOCK] = {0};
    uint8_t pad[BLOCK];
    uint8_t inner[MPROC__SHA256_LEN];
    mproc__sha256 s;
    if (key_len > BLOCK) {
        mproc__sha256_init(&s);
        mproc__sha256_update(&s, key, key_len);
        mproc__sha256_final(&s, k0);
    } else if (key_len > 0) {
        memcpy(k0, key, key_len);
    }

    /* H((K0 ^ ipad) || text) */
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k0[i] ^ 0x36);
    mproc__sha256_init(&s);
    mproc__sha256_update(&s, pad, BLOCK);
    mproc__sha256_update(&s, a, a_len);
    mproc__sha256_update(&s, b, b_len);
    mproc__sha256_final(&s, inner);

    /* H((K0 ^ opad) || inner); out is written last, so it may alias the inputs. */
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k0[i] ^ 0x5c);
    mproc__sha256_init(&s);
    mproc__sha256_update(&s, pad, BLOCK);
    mproc__sha256_update(&s, inner, sizeof inner);
    mproc__sha256_final(&s, out);

    wipe(k0, sizeof k0);
    wipe(pad, sizeof pad);
    wipe(inner, sizeof inner);
}

void mproc__hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        uint8_t out[MPROC__SHA256_LEN])
{
    mproc__hmac_sha256_2(key, key_len, msg, msg_len, NULL, 0, out);
}

bool mproc__equal_ct(const void *a, const void *b, size_t len)
{
    /* Every byte is always read and folded in; no early exit, no data-dependent branch.
     * The volatile accumulator keeps the compiler from turning the loop into one that
     * stops at the first difference. */
    const uint8_t *pa = a, *pb = b;
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff = (uint8_t)(diff | (pa[i] ^ pb[i]));
    return diff == 0;
}
