// example_taste: the README's first taste of roentgen — a tensor, an op, a gradient.
#include <iostream>

#include "autograd/engine.h"
#include "autograd/ops.h"
#include "tensor/random.h"

using namespace rg;

int main() {
  Generator gen(42);  // reproducible everywhere
  Tensor w = randn({3, 1}, 0, 0.1, DType::Float32, Device::cpu(), gen).set_requires_grad(true);
  Tensor x = rand({8, 3}, -1, 1, DType::Float32, Device::cpu(), gen);
  Tensor loss = mean(pow(sigmoid(matmul(x, w)) - 0.5, 2));  // ops broadcast like NumPy
  backward(loss);                                           // w.grad() now holds d loss / d w
  std::cout << "loss " << loss.item() << "\n" << w.grad() << "\n";
}
