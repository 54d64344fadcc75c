// Synchronized batch norm (data-parallel training, train/data_parallel.h): in training mode the
// statistics are those of the global batch — every rank's slice counts — so N ranks normalize as
// one process does with the whole batch (PyTorch's SyncBatchNorm).
//
// It is batch_norm's four kernel steps (layers/kernels.h) with two allreduces between them:
//   forward:  the statistics step on this rank's slice; one allreduce of [M_r, sum_c x, sum_c x^2]
//             (float64) gives the global count M, mean and biased variance; the normalization step.
//   backward: the reduction step gives this rank's [sum_c gy, sum_c gy*(x - mean)]; one allreduce
//             sums them over the ranks; the elementwise step with those sums and M gives
//             gx = weight * invstd * (gy - sum(gy) / M - x^ * sum(gy*x^) / M), x^ = (x - mean) * invstd;
//             gweight, gbias = this rank's sums (the gradient reducer adds the ranks' up).
// (With relu, gy counts only where y > 0, as in batch_norm.) docs/derivations.md derives the
// backward for one process; here the two sums run over every rank.
#pragma once

#include "distributed/communicator.h"
#include "layers/batch_norm.h"

namespace rg {

// The global batch's statistics of one forward: mean and biased var [C] (x's dtype), count M.
struct SyncStatistics {
  Tensor mean, var;
  int64_t count = 0;
};

// Training mode only. measure: compute `stats` over every rank (a collective); false: reuse
// `stats` from an earlier forward of the same batch (a checkpoint's recomputation, which must
// communicate nothing: the other ranks do not recompute in step with it). Returns y and, as
// batch_norm does, the batch mean and unbiased variance for the running statistics.
BatchNormOutput sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool relu,
                                Communicator& comm, SyncStatistics& stats, bool measure);

}  // namespace rg
