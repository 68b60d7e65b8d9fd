//===- Ptxas.cpp - run NVIDIA's ptxas on generated PTX --------------------===//
#include "tessera/Target/Ptxas.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

namespace tessera {

std::optional<std::string> findPtxas() {
  if (const char *env = std::getenv("TESSERA_PTXAS"))
    return std::filesystem::exists(env) ? std::optional<std::string>(env) : std::nullopt;
  if (std::filesystem::exists("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (const char *path = std::getenv("PATH")) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!dir.empty() && std::filesystem::exists(dir + "/ptxas"))
        return dir + "/ptxas";
      if (end == std::string::npos)
        break;
      start = end + 1;
    }
  }
  return std::nullopt;
}

static int firstInt(const std::string &log, const std::regex &re) {
  std::smatch m;
  return std::regex_search(log, m, re) ? std::stoi(m[1]) : -1;
}

PtxasReport runPtxas(const std::string &ptxasPath, const std::string &ptx,
                     const std::string &target, const std::string &cubinPath) {
  PtxasReport report;
  char tmpl[] = "/tmp/tessera-ptxas-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) {
    report.log = "cannot create a temporary file for ptxas";
    return report;
  }
  close(fd);
  std::string ptxPath = std::string(tmpl) + ".ptx";
  std::filesystem::rename(tmpl, ptxPath);
  {
    std::ofstream os(ptxPath);
    os << ptx;
  }
  std::string out = cubinPath.empty() ? "/dev/null" : cubinPath;
  std::string cmd = "'" + ptxasPath + "' -v -arch=" + target + " '" + ptxPath + "' -o '" + out +
                    "' 2>&1";
  if (FILE *pipe = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0)
      report.log.append(buf, n);
    int status = pclose(pipe);
    report.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(ptxPath);
  report.registers = firstInt(report.log, std::regex(R"(Used (\d+) registers)"));
  report.sharedBytes = firstInt(report.log, std::regex(R"((\d+) bytes smem)"));
  // ptxas omits the shared-memory figure when a kernel uses none.
  if (report.exitCode == 0 && report.registers >= 0 && report.sharedBytes < 0)
    report.sharedBytes = 0;
  report.spillStoreBytes = std::max(0, firstInt(report.log, std::regex(R"((\d+) bytes spill stores)")));
  report.spillLoadBytes = std::max(0, firstInt(report.log, std::regex(R"((\d+) bytes spill loads)")));
  std::regex fixup(R"(\((C75(10|15|19|20))\))");
  report.wgmmaFixups = int(std::distance(
      std::sregex_iterator(report.log.begin(), report.log.end(), fixup), std::sregex_iterator()));
  return report;
}

} // namespace tessera
