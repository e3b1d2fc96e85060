/* cpu.c: the fast CPU backend: OpenBLAS GEMM; convolutions still on the reference loops
 * until the oneDNN path lands. */
#include <cblas.h>

#include "engine/backend/backend.h"

static void cpu_set_threads(int n) { openblas_set_num_threads(n); }

static void cpu_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
}

const struct pf_backend_ops pf_backend_cpu = {
    .name = "cpu",
    .set_threads = cpu_set_threads,
    .sgemm = cpu_sgemm,
};
