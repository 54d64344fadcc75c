#include "tensor/cpu/gemm.h"

#include <cblas.h>

#include <type_traits>

#include "tensor/cpu/blas_core.h"
#include "tensor/parallel.h"

namespace rg::cpu {

namespace {

constexpr int64_t kGemmBlock = 64;  // narrowest block of C's columns (or rows) one thread takes

template <typename T>
void blas(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  prepare_blas();  // one thread per call: the pool already has one thread per core
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (n >= m) {
    // Columns [j0, j1) of C need columns [j0, j1) of op(B).
    parallel_for(n, kGemmBlock, [&](int64_t j0, int64_t j1) {
      const T* bj = trans_b ? b + j0 * ldb : b + j0;
      blas<T>(trans_a, trans_b, m, j1 - j0, k, alpha, a, lda, bj, ldb, beta, c + j0, ldc);
    });
  } else {
    // Rows [i0, i1) of C need rows [i0, i1) of op(A).
    parallel_for(m, kGemmBlock, [&](int64_t i0, int64_t i1) {
      const T* ai = trans_a ? a + i0 : a + i0 * lda;
      blas<T>(trans_a, trans_b, i1 - i0, n, k, alpha, ai, lda, b, ldb, beta, c + i0 * ldc, ldc);
    });
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);

}  // namespace rg::cpu
