/* SHA-256 and HMAC-SHA256 (the manager's authentication): published test vectors
 * (FIPS 180-2 appendix B and the NIST examples, RFC 4231), padding boundaries, incremental
 * updates, the two-part HMAC and the constant-time compare. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

/* The digest as lowercase hex, so a failure prints both values readably. */
static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_once(const void *data, size_t len, uint8_t out[MPROC__SHA256_LEN])
{
    mproc__sha256 s;
    mproc__sha256_init(&s);
    mproc__sha256_update(&s, data, len);
    mproc__sha256_final(&s, out);
}

static void check_sha256(const void *data, size_t len, const char *want)
{
    uint8_t d[MPROC__SHA256_LEN];
    char hex[2 * MPROC__SHA256_LEN + 1];
    sha256_once(data, len, d);
    to_hex(d, sizeof d, hex);
    assert_string_equal(hex, want);
}

static void sha256_fips_vectors(void **state)
{
    (void)state;
    check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha256(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m448) * 8, 448);
    check_sha256(m448, strlen(m448),
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_int_equal(strlen(m896) * 8, 896);
    check_sha256(m896, strlen(m896),
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void sha256_million_a(void **state)
{
    (void)state;
    static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    uint8_t d[MPROC__SHA256_LEN];
    char hex[2 * MPROC__SHA256_LEN + 1];
    /* In pieces of 1000 (not a multiple of the block size)... */
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    mproc__sha256 s;
    mproc__sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        mproc__sha256_update(&s, chunk, sizeof chunk);
    mproc__sha256_final(&s, d);
    to_hex(d, sizeof d, hex);
    assert_string_equal(hex, want);
    /* ...and in one piece. */
    char *all = malloc(1000000);
    assert_non_null(all);
    memset(all, 'a', 1000000);
    check_sha256(all, 1000000, want);
    free(all);
}

/* Lengths around the padding's edges: 55 bytes is the most that fits with the length in
 * one block, 56..63 need a second block, 64 is exactly one block. */
static void sha256_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    char a[128];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        check_sha256(a, v[i].n, v[i].hex);
}

static void sha256_incremental_every_split(void **state)
{
    (void)state;
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    uint8_t want[MPROC__SHA256_LEN], got[MPROC__SHA256_LEN];
    sha256_once(msg, sizeof msg, want);
    mproc__sha256 s;
    for (size_t cut = 0; cut <= sizeof msg; cut++) {
        mproc__sha256_init(&s);
        mproc__sha256_update(&s, msg, cut);
        mproc__sha256_update(&s, msg + cut, sizeof msg - cut);
        mproc__sha256_final(&s, got);
        if (memcmp(got, want, sizeof want) != 0)
            fail_msg("split at %d gives another digest", (int)cut);
        /* three pieces: a cut, then a zero-length update, then 1-byte steps up to 64 */
        mproc__sha256_init(&s);
        mproc__sha256_update(&s, msg, cut);
        mproc__sha256_update(&s, NULL, 0);
        size_t at = cut;
        for (size_t step = 1; at < sizeof msg; step = step % 64 + 1) {
            size_t n = sizeof msg - at < step ? sizeof msg - at : step;
            mproc__sha256_update(&s, msg + at, n);
            at += n;
        }
        mproc__sha256_final(&s, got);
        if (memcmp(got, want, sizeof want) != 0)
            fail_msg("cut at %d then growing steps gives another digest", (int)cut);
    }
    /* one byte at a time */
    mproc__sha256_init(&s);
    for (size_t i = 0; i < sizeof msg; i++)
        mproc__sha256_update(&s, msg + i, 1);
    mproc__sha256_final(&s, got);
    assert_memory_equal(got, want, sizeof want);
}

static void check_hmac(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       const char *want)
{
    uint8_t d[MPROC__SHA256_LEN];
    char hex[2 * MPROC__SHA256_LEN + 1];
    mproc__hmac_sha256(key, key_len, msg, msg_len, d);
    to_hex(d, sizeof d, hex);
    /* want may be truncated (RFC 4231 case 5: the first 128 bits) */
    hex[strlen(want)] = '\0';
    assert_string_equal(hex, want);
}

static const char rfc4231_data7[] =
    "This is a test using a larger than block-size key and a larger than block-size data. "
    "The key needs to be hashed before being used by the HMAC algorithm.";

static void hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t key[131], data[50];

    /* 1 */
    memset(key, 0x0b, 20);
    check_hmac(key, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* 2: a key shorter than the output */
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* 3 */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    check_hmac(key, 20, data, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    /* 4 */
    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    check_hmac(key, 25, data, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    /* 5: truncated to 128 bits */
    memset(key, 0x0c, 20);
    check_hmac(key, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b");
    /* 6: a key longer than a block (hashed first) */
    memset(key, 0xaa, 131);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(key, 131, d6, strlen(d6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* 7: key and data both longer than a block */
    check_hmac(key, 131, rfc4231_data7, strlen(rfc4231_data7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* Keys of 0, 63, 64 and 65 bytes (the block size is 64), and the RFC 2104 rule that a long
 * key acts as its digest. */
static void hmac_key_length_boundaries(void **state)
{
    (void)state;
    uint8_t key[65];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    check_hmac(NULL, 0, "message", 7,
               "eb08c1f56d5ddee07f7bdf80468083da06b64cf4fac64fe3a90883df5feacae4");
    check_hmac(key, 63, "message", 7,
               "7a8f63f258fbc0b3687a1ca3f9b6e6c82a181b97cd0d6548b75b81ba12018e81");
    check_hmac(key, 64, "message", 7,
               "b257edf5f8067b3999f7728d3671fa10d7f2dbc8b6a679386993260a8451e6f0");
    check_hmac(key, 65, "message", 7,
               "dbd31d40e7ffe41f87581b47a3c4444b65d0a707c11f68f18e056d1bd08608ec");
    uint8_t hashed[MPROC__SHA256_LEN], a[MPROC__SHA256_LEN], b[MPROC__SHA256_LEN];
    sha256_once(key, 65, hashed);
    mproc__hmac_sha256(key, 65, "message", 7, a);
    mproc__hmac_sha256(hashed, sizeof hashed, "message", 7, b);
    assert_memory_equal(a, b, sizeof a);
    /* an empty message, given as NULL */
    mproc__hmac_sha256(key, 20, NULL, 0, a);
    mproc__hmac_sha256(key, 20, "", 0, b);
    assert_memory_equal(a, b, sizeof a);
}

static void hmac_two_part_equals_one_part(void **state)
{
    (void)state;
    uint8_t long_key[131];
    memset(long_key, 0xaa, sizeof long_key);
    const struct {
        const void *key;
        size_t key_len;
    } keys[] = {{"Jefe", 4}, {long_key, sizeof long_key}, {NULL, 0}};
    const char *msg = rfc4231_data7;
    size_t len = strlen(msg);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        uint8_t want[MPROC__SHA256_LEN], got[MPROC__SHA256_LEN];
        mproc__hmac_sha256(keys[k].key, keys[k].key_len, msg, len, want);
        for (size_t cut = 0; cut <= len; cut++) {
            mproc__hmac_sha256_2(keys[k].key, keys[k].key_len, msg, cut, msg + cut, len - cut, got);
            if (memcmp(got, want, sizeof want) != 0)
                fail_msg("key %d, split at %d: two-part HMAC differs", (int)k, (int)cut);
        }
        mproc__hmac_sha256_2(keys[k].key, keys[k].key_len, NULL, 0, msg, len, got);
        assert_memory_equal(got, want, sizeof want);
        mproc__hmac_sha256_2(keys[k].key, keys[k].key_len, msg, len, NULL, 0, got);
        assert_memory_equal(got, want, sizeof want);
    }
    /* RFC 4231 case 2 through the two-part form: a label and a nonce */
    uint8_t d[MPROC__SHA256_LEN];
    char hex[2 * MPROC__SHA256_LEN + 1];
    mproc__hmac_sha256_2("Jefe", 4, "what do ya ", 11, "want for nothing?", 17, d);
    to_hex(d, sizeof d, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void equal_ct_true_and_false(void **state)
{
    (void)state;
    uint8_t a[MPROC__SHA256_LEN], b[MPROC__SHA256_LEN];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)(0xa5 ^ i);
    assert_true(mproc__equal_ct(a, b, sizeof a));
    assert_true(mproc__equal_ct(a, a, sizeof a));
    /* length 0 is equal whatever the bytes, and reads none */
    assert_true(mproc__equal_ct(NULL, NULL, 0));
    assert_true(mproc__equal_ct("x", "y", 0));
    /* a difference in the last byte */
    b[sizeof b - 1] ^= 0x01;
    assert_false(mproc__equal_ct(a, b, sizeof a));
    assert_true(mproc__equal_ct(a, b, sizeof a - 1)); /* not looked at when excluded */
    b[sizeof b - 1] ^= 0x01;
    /* every single-bit difference at every position */
    for (size_t i = 0; i < sizeof a; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            if (mproc__equal_ct(a, b, sizeof a))
                fail_msg("byte %d bit %d: differing buffers compared equal", (int)i, bit);
            b[i] ^= (uint8_t)(1u << bit);
        }
    assert_true(mproc__equal_ct(a, b, sizeof a));
    /* a difference in the first byte, one-byte buffers */
    assert_false(mproc__equal_ct("a", "b", 1));
    assert_true(mproc__equal_ct("a", "a", 1));
}

#define HARNESS_CASES "cases/hmac.txt"
#include "harness_main.h"
