// C = alpha * op(A) @ op(B) + beta * C, row-major (op = transpose when trans_*), on OpenBLAS,
// split over the thread pool (tensor/parallel.h): the wider of C's two dimensions is cut into
// blocks of at least kGemmBlock, one single-threaded sgemm/dgemm per block. Each block repacks the
// operand it shares with the others, which costs little next to its multiply-adds.
//   op(A) [m, k], op(B) [k, n], C [m, n]
#pragma once

#include <cstdint>

namespace rg::cpu {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace rg::cpu
