#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "tensor/factory.h"

namespace rg {

namespace {

std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return fn(inputs).to_vector<double>();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    RG_CHECK(t.dtype() == DType::Float64 && t.device().is_cpu() && t.is_contiguous() && t.is_leaf(),
             "gradcheck: input ", i, " must be a contiguous float64 CPU leaf tensor, got ", t.dtype(), " on ",
             t.device(), t.is_contiguous() ? "" : " (not contiguous)");
  }
  GradcheckResult result;
  std::ostringstream report;
  int failures = 0;

  const int64_t n_out = evaluate(fn, inputs).size();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& input = inputs[i];
    if (!input.requires_grad()) continue;
    double* x = input.data<double>();

    // Analytic Jacobian, one output element (one backward pass) at a time.
    std::vector<std::vector<double>> analytic(n_out);
    for (int64_t j = 0; j < n_out; ++j) {
      for (const Tensor& t : inputs) t.impl().grad.reset();
      Tensor out = fn(inputs);
      RG_CHECK(out.requires_grad(), "gradcheck: the output does not depend on any input with requires_grad");
      std::vector<double> onehot(n_out, 0.0);
      onehot[j] = 1.0;
      backward(out, from_vector(onehot, out.shape(), DType::Float64));
      const Tensor grad = input.grad();
      analytic[j] = grad.defined() ? grad.to_vector<double>() : std::vector<double>(input.numel(), 0.0);
    }

    // Numeric Jacobian, one input element at a time.
    for (int64_t k = 0; k < input.numel(); ++k) {
      const double saved = x[k];
      x[k] = saved + options.eps;
      const std::vector<double> up = evaluate(fn, inputs);
      x[k] = saved - options.eps;
      const std::vector<double> down = evaluate(fn, inputs);
      x[k] = saved;
      const std::vector<double> here = evaluate(fn, inputs);

      bool kink = false;
      for (int64_t j = 0; j < n_out && !kink; ++j) {
        const double right = (up[j] - here[j]) / options.eps, left = (here[j] - down[j]) / options.eps;
        // Smooth functions have one-sided slopes that differ by O(eps); kinks by O(1).
        kink = std::abs(right - left) > 1e-3 * (1.0 + std::abs(right) + std::abs(left));
      }
      if (kink) {
        ++result.kinks;
        continue;
      }
      for (int64_t j = 0; j < n_out; ++j) {
        const double numeric = (up[j] - down[j]) / (2 * options.eps);
        const double got = analytic[j][k];
        ++result.compared;
        if (std::abs(got - numeric) > options.atol + options.rtol * std::abs(numeric) || got != got) {
          if (failures++ < 5)
            report << "input " << i << " element " << k << ", output " << j << ": analytic " << got << " vs numeric "
                   << numeric << "\n";
        }
      }
    }
  }
  result.ok = failures == 0;
  result.message = result.ok ? "ok" : std::to_string(failures) + " Jacobian entries differ:\n" + report.str();
  return result;
}

}  // namespace rg
