#include "data/jpeg2000_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

extern char** environ;

namespace rg::data::dicom {

int jpeg2000_cpu_seconds(size_t pixels) { return 2 + int(pixels / (size_t(2) << 20)); }

namespace {

std::string helper_path() {
  if (const char* set = std::getenv("ROENTGEN_J2K_DECODER"); set && *set) return set;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path() / "roentgen-decode-j2k").string();
}

// A socket end, closed when it goes out of scope. Sockets, not pipes: a send to a helper that has
// died returns EPIPE instead of raising SIGPIPE in this process (MSG_NOSIGNAL).
struct Socket {
  int fd = -1;
  ~Socket() { close_now(); }
  void close_now() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

void socket_pair(Socket& ours, Socket& theirs, const std::string& file) {
  int ends[2];
  RG_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0, file,
           ": cannot open a socket to the JPEG 2000 decoder (", std::strerror(errno), ")");
  ours.fd = ends[0];
  theirs.fd = ends[1];
}

// Starts the helper with `to_helper` as its standard input, `from_helper` as its standard output
// and its standard error discarded.
pid_t spawn(const std::vector<std::string>& args, int to_helper, int from_helper, const std::string& file) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_helper, 0);
  posix_spawn_file_actions_adddup2(&actions, from_helper, 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int status = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  RG_CHECK(status == 0, file, ": cannot start the JPEG 2000 decoder ", args[0], " (", std::strerror(status),
           "; build its target roentgen-decode-j2k, or set ROENTGEN_J2K_DECODER)");
  return pid;
}

void send_all(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the helper stopped reading: its exit status says why
    sent += size_t(n);
  }
}

// Everything the helper writes, keeping at most `keep` bytes.
std::string receive_all(int fd, size_t keep) {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return bytes;
    bytes.append(buffer, std::min(size_t(n), keep - std::min(keep, bytes.size())));
  }
}

}  // namespace

std::vector<char> decode_jpeg2000_in_own_process(const std::string& frame, const std::string& syntax_uid,
                                                 const Geometry& g, const Bits& bits, const std::string& file) {
  const size_t bytes = g.pixels() * size_t(bits.allocated / 8);
  const std::vector<std::string> args = {helper_path(),
                                         std::to_string(g.rows),
                                         std::to_string(g.columns),
                                         std::to_string(bits.allocated),
                                         std::to_string(bits.stored),
                                         std::to_string(bits.high),
                                         bits.is_signed ? "1" : "0",
                                         g.monochrome1 ? "1" : "0",
                                         syntax_uid,
                                         file,
                                         std::to_string(jpeg2000_cpu_seconds(g.pixels()))};
  Socket to_helper, its_input, from_helper, its_output;
  socket_pair(to_helper, its_input, file);
  socket_pair(from_helper, its_output, file);
  const pid_t pid = spawn(args, its_input.fd, its_output.fd, file);
  its_input.close_now();
  its_output.close_now();
  // The helper reads the whole frame before it writes, so sending all first cannot deadlock.
  send_all(to_helper.fd, frame);
  to_helper.close_now();
  const std::string answer = receive_all(from_helper.fd, bytes + 4096);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  RG_CHECK(!WIFSIGNALED(status), file, ": corrupt JPEG 2000 in ", kPixelData.describe(), ": its decoder process ",
           "died of ", strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGXCPU ? " (its CPU-time limit)" : "");
  if (WEXITSTATUS(status) != 0)
    throw Error(answer.empty() || answer.size() > 4096 ? file + ": the JPEG 2000 decoder process failed" : answer);
  RG_CHECK(answer.size() == bytes, file, ": the JPEG 2000 decoder process gave ", answer.size(),
           " bytes for a frame of ", bytes);
  return std::vector<char>(answer.begin(), answer.end());
}

}  // namespace rg::data::dicom
