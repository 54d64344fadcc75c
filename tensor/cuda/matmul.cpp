// CUDA matmul on cuBLAS: out[b] = a[b] @ b[b] for every batch b, in one strided-batched call.
//
// cuBLAS is column-major, we are row-major. A row-major [M, N] matrix is, byte for byte, a
// column-major [N, M] one — its transpose. So we ask cuBLAS for out^T = b^T a^T, which it reads
// straight from our buffers: "a" and "b" swap places and M and N swap roles.
#include <mutex>
#include <vector>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/kernels.h"

namespace rg::cuda {
namespace {

cublasHandle_t handle_for(int device) {
  static std::mutex mutex;
  static std::vector<cublasHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  if (int(handles.size()) <= device) handles.resize(device + 1, nullptr);
  if (!handles[device]) {
    DeviceGuard guard(device);  // a handle belongs to the device current at its creation
    RG_CUBLAS_CHECK(cublasCreate(&handles[device]));
  }
  return handles[device];
}

// How cuBLAS should read one operand: its own layout (as column-major), leading dim and
// batch stride. Row-major [rows, cols] with unit column stride reads as op N; column-major
// (unit row stride, a transposed view) reads as op T.
struct GemmOperand {
  bool ok = false;
  cublasOperation_t op = CUBLAS_OP_N;
  int64_t ld = 0;
};

GemmOperand gemm_operand(const Tensor& t) {
  const int64_t rows = t.size(1), cols = t.size(2), s_row = t.strides()[1], s_col = t.strides()[2];
  if (s_col == 1 && s_row >= std::max<int64_t>(cols, 1)) return {true, CUBLAS_OP_N, s_row};
  if (s_row == 1 && s_col >= std::max<int64_t>(rows, 1)) return {true, CUBLAS_OP_T, s_col};
  return {};
}

}  // namespace

void matmul(const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  DeviceGuard guard(out.device().index);
  const int64_t batch = a_in.size(0), m = a_in.size(1), k = a_in.size(2), n = b_in.size(2);
  if (m == 0 || n == 0 || batch == 0) return;
  if (k == 0) {
    fill(out, 0.0);
    return;
  }
  Tensor a = a_in, b = b_in;
  GemmOperand ga = gemm_operand(a), gb = gemm_operand(b);
  if (!ga.ok) {  // neither row- nor column-major: copy to row-major first
    a = Tensor::empty(a_in.shape(), a_in.dtype(), a_in.device());
    copy(a_in, a);
    ga = gemm_operand(a);
  }
  if (!gb.ok) {
    b = Tensor::empty(b_in.shape(), b_in.dtype(), b_in.device());
    copy(b_in, b);
    gb = gemm_operand(b);
  }
  // cuBLAS takes sizes and leading dimensions as int (batch strides are 64-bit).
  for (int64_t v : {m, n, k, batch, ga.ld, gb.ld})
    RG_CHECK(v <= INT32_MAX, "matmul on CUDA: a size or leading dimension (", v,
             ") exceeds cuBLAS's int range; a: ", shape_str(a_in.shape()), ", b: ", shape_str(b_in.shape()));
  cublasHandle_t handle = handle_for(out.device().index);
  // out^T [N, M] = b^T [N, K] @ a^T [K, M] in cuBLAS's column-major view.
  if (out.dtype() == DType::Float32) {
    const float one = 1.0f, zero = 0.0f;
    RG_CUBLAS_CHECK(cublasSgemmStridedBatched(handle, gb.op, ga.op, int(n), int(m), int(k), &one, b.data<float>(),
                                              int(gb.ld), b.strides()[0], a.data<float>(), int(ga.ld), a.strides()[0],
                                              &zero, out.data<float>(), int(n), m * n, int(batch)));
  } else {
    RG_CHECK(out.dtype() == DType::Float64, "matmul on CUDA: expected float32 or float64, got ", out.dtype());
    const double one = 1.0, zero = 0.0;
    RG_CUBLAS_CHECK(cublasDgemmStridedBatched(handle, gb.op, ga.op, int(n), int(m), int(k), &one, b.data<double>(),
                                              int(gb.ld), b.strides()[0], a.data<double>(), int(ga.ld), a.strides()[0],
                                              &zero, out.data<double>(), int(n), m * n, int(batch)));
  }
}

}  // namespace rg::cuda
