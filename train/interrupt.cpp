#include "train/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace rg {
namespace {

std::atomic<int> requested{0};
struct sigaction previous_term, previous_int, previous_usr1;

void on_signal(int signal) {
  if (requested.exchange(signal) != 0) _exit(128 + signal);  // the second signal: at once
  // Every rank notices at the end of the same step: this one, or the next when the signal came
  // after this step's ranks had compared notes.
  static const char kMessage[] =
      "\nroentgen: a signal: stopping after this step or the next, with last.safetensors "
      "written (a second signal stops at once)\n";
  [[maybe_unused]] ssize_t written = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  requested = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &previous_term);
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGUSR1, &action, &previous_usr1);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGTERM, &previous_term, nullptr);
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGUSR1, &previous_usr1, nullptr);
}

int interrupt_requested() { return requested.load(); }

}  // namespace rg
