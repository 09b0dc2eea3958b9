// Intel AMX (Advanced Matrix Extensions) for bf16 evaluation: the tile
// instructions have no Swift spelling, so the one kernel that issues them and
// the calls around it live here, as static inline functions compiled with their
// own target attributes (nothing else in the build is compiled for AMX).
// Callers check CPUFeatures.hasAMXBF16 and camx_request_permission() first.
#ifndef SLEEPFOLD_CAMX_H
#define SLEEPFOLD_CAMX_H
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

// Linux hands out the tile registers' 8 KB of state only on request (kernel 5.16+).
#define CAMX_ARCH_REQ_XCOMP_PERM 0x1023
#define CAMX_XFEATURE_XTILEDATA 18

/// 0 when this process may use the tiles, else -1 (errno says why).
static inline int camx_request_permission(void) {
    return (int)syscall(SYS_arch_prctl, CAMX_ARCH_REQ_XCOMP_PERM, CAMX_XFEATURE_XTILEDATA);
}

/// Palette 1, tiles 0…7 all 16 rows × 64 bytes: 0–3 fp32 accumulators (16 × 16),
/// 4–5 weights (16 rows × 32 bf16), 6–7 input pairs (16 rows × 16 bf16 pairs).
/// The configuration is per thread: call it on the thread that runs the kernel.
__attribute__((target("amx-tile")))
static inline void camx_configure(void) {
    struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } config = {0};
    config.palette = 1;
    for (int i = 0; i < 8; i++) { config.colsb[i] = 64; config.rows[i] = 16; }
    _tile_loadconfig(&config);
}

/// Gives the tile state back (so a context switch need not save it).
__attribute__((target("amx-tile")))
static inline void camx_release(void) { _tile_release(); }

/// One 32 × 32 block of a stride-1 convolution, fp32 sums of bf16 products:
///
///     out[f, t] = Σ_j Σ_c w[f, j, c] · x[c, t + j]      f, t in 0 ..< 32
///
/// w:   bf16, row f at w + f·ldw, tap j's C channels at + j·C (C a multiple of 32)
/// x:   bf16 channel pairs as 32-bit words, pair p (channels 2p, 2p+1) at x + p·ldx,
///      time t at + t (the pair interleaved, low half = channel 2p); t + j < ldx
/// out: fp32, row f at out + f·ldo (written, not accumulated)
/// Each sum runs over j, then c in blocks of 32 (the tile unit's order within a block).
/// With K = 1 it is a plain matrix product, out = w · x (AMXLinear: w = rows of the
/// layer's input in bf16, x = the weights' transpose as bf16 pairs).
__attribute__((target("amx-tile,amx-bf16")))
static inline void camx_convolution_32x32(int K, int C, const uint16_t *w, long ldw,
                                          const uint32_t *x, long ldx, float *out, long ldo) {
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    for (int j = 0; j < K; j++) {
        for (int c = 0; c < C; c += 32) {
            const uint16_t *a = w + (long)j * C + c;
            const uint32_t *b = x + (long)(c / 2) * ldx + j;
            _tile_loadd(4, a, ldw * 2);
            _tile_loadd(5, a + 16 * ldw, ldw * 2);
            _tile_loadd(6, b, ldx * 4);
            _tile_loadd(7, b + 16, ldx * 4);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, out, ldo * 4);
    _tile_stored(1, out + 16, ldo * 4);
    _tile_stored(2, out + 16 * ldo, ldo * 4);
    _tile_stored(3, out + 16 * ldo + 16, ldo * 4);
}
#endif
#endif
