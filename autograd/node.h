// The autograd graph: one Node per recorded op, pointing back at the nodes of its inputs.
//
//   x (leaf) ──┐
//              ├─ mul ── y ── sum ── loss        loss.grad_fn = sum-node
//   w (leaf) ──┘                                 sum-node.inputs = [edge to mul-node]
//                                                mul-node.inputs = [edge to leaf x, edge to leaf w]
//
// A Node holds what its backward needs (saved tensors live in the `backward` closure) and, for
// each input, where that input's gradient goes. backward() (engine.h) walks the graph from the
// loss in reverse topological order, calling each node's `backward` with the gradient of its
// output and passing the results on along the edges.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace rg::autograd {

struct Node;

// Where the gradient of one input of a node goes.
struct Edge {
  std::shared_ptr<Node> node;        // the input was made by this op: pass the gradient on; or
  std::shared_ptr<TensorImpl> leaf;  // the input is a leaf that requires grad: accumulate there.
                                     // Both null: the input needs no gradient.
};

// Which inputs of a node need a gradient: needs[i] is false for an input that does not require
// grad (an image fed to the stem convolution), so the backward can skip computing it.
using NeedsGrad = std::vector<bool>;

// Given the gradient of the op's output, returns one gradient per input (same shapes as the
// inputs; an undefined Tensor where none is needed).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const NeedsGrad& needs)>;
// The same, for a backward that always computes every input's gradient (the small ops).
using SimpleBackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;  // the op, for messages: "matmul"
  std::vector<Edge> inputs;
  std::vector<Shape> input_shapes;   // each returned gradient must have this shape
  NeedsGrad needs;                   // needs[i]: input i has an edge (its gradient goes somewhere)
  BackwardFn backward;               // null once backward() has run through this node
  std::weak_ptr<TensorImpl> output;  // for retain_grad(); weak, so the node does not keep it alive
};

// Records that `out` was made by op `name` from `inputs`, when grad mode is on and some input
// requires grad; then `out` requires grad and out.grad_fn() is the new node. Returns `out`.
// `backward` must not capture `out` itself (that would be a reference cycle): capture
// out.detach() when the output's value is needed.
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, SimpleBackwardFn backward);

// `copy`, which holds the same values as `made` (copied elsewhere: a dense block's shared buffer,
// layers/concat_buffer.cpp), takes `made`'s place in the graph: it gets made's node, so a gradient
// that reaches `copy` flows on to whatever made `made`, and made's own memory may be freed.
// `made` is a non-leaf that requires grad. Returns `copy`.
Tensor stand_in(Tensor copy, const Tensor& made);

}  // namespace rg::autograd
