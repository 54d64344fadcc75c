// report.html: one self-contained page (inline SVG, PNGs as data: URIs), opened in a browser
// with no server.
#pragma once

#include <string>
#include <vector>

namespace rg::report {

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);
  void heading(const std::string& text);
  void paragraph(const std::string& text);  // escaped
  void raw(const std::string& html);        // trusted markup, e.g. an inline SVG
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  void png(const std::string& png_bytes, const std::string& caption, int width = 0);
  void write(const std::string& path) const;  // atomically

 private:
  std::string title_, body_;
};

std::string base64(const std::string& bytes);

}  // namespace rg::report
