#include "train/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace rg {
namespace {

std::atomic<int> requested{0};
struct sigaction previous_term, previous_int;

void on_signal(int signal) {
  if (requested.exchange(signal) != 0) _exit(128 + signal);  // the second signal: at once
  static const char kMessage[] = "\nroentgen: stopping at the end of this step (a second signal stops at once)\n";
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
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGTERM, &previous_term, nullptr);
  sigaction(SIGINT, &previous_int, nullptr);
}

int interrupt_requested() { return requested.load(); }

}  // namespace rg
