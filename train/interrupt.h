// Preemption: SIGTERM (what cluster schedulers send to every task), SIGINT (Ctrl-C) and SIGUSR1
// during training ask it to stop after the current step (or the next, on every rank alike), with
// last.safetensors written for --resume 1; a second signal ends the process at once (exit status
// 128 + the signal). Under mpirun send SIGUSR1 to mpirun, which passes it on to every rank: on
// SIGTERM or SIGINT Open MPI's mpirun kills the ranks 1 s later (odls_base_sigkill_timeout).
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
