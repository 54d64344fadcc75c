// Preemption: SIGTERM (what cluster schedulers send) and SIGINT (Ctrl-C) during training ask it to
// stop at the end of the current step, with last.safetensors written for --resume 1; a second
// signal ends the process at once (exit status 128 + the signal).
//
//   InterruptGuard guard;                        // installs the handlers for its lifetime
//   ... if (interrupt_requested()) { save; stop } ...
#pragma once

namespace rg {

class InterruptGuard {
 public:
  InterruptGuard();   // clears a request left from before
  ~InterruptGuard();  // the previous handlers again
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// Whether a signal asked training to stop since the guard was made; the signal's number, or 0.
int interrupt_requested();

}  // namespace rg
