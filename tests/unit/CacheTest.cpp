//===- CacheTest.cpp - the JIT's disk cache, on the CPU (PTX-only entries) ===//
#include "Common.h"

#include "tessera/Support/Sha256.h"
#include "tessera/jit/Jit.h"

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace tessera;
namespace fs = std::filesystem;

namespace {
/// A fresh, empty cache folder for one test.
struct TempCache {
  fs::path dir;
  explicit TempCache(const std::string &name)
      : dir(fs::temp_directory_path() / ("tessera-cache-test-" + name + "-" + std::to_string(getpid()))) {
    fs::remove_all(dir);
  }
  ~TempCache() { fs::remove_all(dir); }
  rt::CacheOptions options(bool enabled = true) const { return {dir.string(), enabled}; }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    if (fs::exists(dir))
      for (auto &e : fs::directory_iterator(dir))
        out.push_back(e.path());
    return out;
  }
};

std::string readAll(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void writeAll(const fs::path &p, const std::string &s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

const dsl::KernelDef &addDef() { return kernels::findKernel("vector_add"); }
} // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 examples", "[cache]") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("cache entries round-trip and damaged ones are rejected", "[cache]") {
  rt::CacheEntry e{"sm_90a", {"k", {{"x", "ptr<f16>", 16, 1}, {"n", "i32", 0, 16}}, 128, 4096, 0},
                   ".version 8.0\n...", std::string("\0cubin\n\xff", 8)};
  std::string file = rt::DiskCache::encode(e);
  auto back = rt::DiskCache::decode(file);
  REQUIRE(back);
  CHECK(back->target == "sm_90a");
  CHECK(back->ptx == e.ptx);
  CHECK(back->cubin == e.cubin);
  CHECK(back->info.name == "k");
  REQUIRE(back->info.params.size() == 2);
  CHECK(back->info.params[1].multipleOf == 16);
  CHECK(back->info.staticSharedBytes == 4096);
  CHECK(back->info.tensorMaps.empty());

  // TMA tensor maps the launcher builds travel with the entry.
  rt::CacheEntry t = e;
  TensorMapSpec m;
  m.base = 0;
  m.rank = 3;
  m.dims[0] = 1;
  m.strides[0] = 1;
  m.strides[1] = 0;
  m.box[0] = 64;
  m.box[1] = 128;
  m.swizzle = 128;
  t.info.tensorMaps = {m};
  auto tback = rt::DiskCache::decode(rt::DiskCache::encode(t));
  REQUIRE(tback);
  REQUIRE(tback->info.tensorMaps.size() == 1);
  const TensorMapSpec &mb = tback->info.tensorMaps[0];
  CHECK((mb.base == 0 && mb.rank == 3 && mb.dims[0] == 1 && mb.dims[1] == -1 &&
         mb.dims[2] == -1 && mb.strides[0] == 1 && mb.strides[1] == 0 && mb.box[0] == 64 &&
         mb.box[1] == 128 && mb.box[2] == 1 && mb.swizzle == 128));

  CHECK_FALSE(rt::DiskCache::decode(file.substr(0, file.size() - 1))); // truncated
  CHECK_FALSE(rt::DiskCache::decode(file + "x"));                      // padded
  std::string flipped = file;
  flipped[flipped.size() / 2] ^= 0x20;
  CHECK_FALSE(rt::DiskCache::decode(flipped)); // corrupt
  CHECK_FALSE(rt::DiskCache::decode(""));
  CHECK_FALSE(rt::DiskCache::decode("not a cache file"));
}

TEST_CASE("the cache key covers IR and options and target", "[cache]") {
  CompileOptions a;
  CompileOptions b = a;
  b.target = "sm_80";
  CompileOptions c = a;
  c.optLevel = 2;
  CompileOptions d = a;
  d.ptxVersion = 82;
  std::string k = jit::cacheKey("ir", a);
  CHECK(k.size() == 64);
  CHECK(k == jit::cacheKey("ir", a));
  CHECK(k != jit::cacheKey("ir2", a));
  CHECK(k != jit::cacheKey("ir", b));
  CHECK(k != jit::cacheKey("ir", c));
  CHECK(k != jit::cacheKey("ir", d));
}

TEST_CASE("a second request is a memory hit and a new process a disk hit", "[cache][jit]") {
  TempCache tc("hits");
  {
    jit::Compiler comp(tc.options());
    auto first = comp.compile(addDef(), {}, "sm_90a");
    CHECK(first->source == jit::Compiled::Source::Compiled);
    CHECK(first->entry.ptx.find(".entry vector_add") != std::string::npos);
    auto second = comp.compile(addDef(), {}, "sm_90a");
    CHECK(second.get() == first.get());
    CHECK(comp.stats().compiles == 1);
    CHECK(comp.stats().memoryHits == 1);
    REQUIRE(tc.files().size() == 1);
    CHECK(tc.files()[0].filename().string() == first->key + ".tkc");
  }
  // A new compiler (as a new process would) finds the entry on disk.
  jit::Compiler again(tc.options());
  auto fromDisk = again.compile(addDef(), {}, "sm_90a");
  CHECK(fromDisk->source == jit::Compiled::Source::Disk);
  CHECK(again.stats().diskHits == 1);
  CHECK(again.stats().compiles == 0);
  // Other parameters or targets are other entries.
  again.compile(addDef(), dsl::Params{{"BLOCK", "512"}}, "sm_90a");
  again.compile(addDef(), {}, "sm_80");
  CHECK(again.stats().compiles == 2);
  CHECK(tc.files().size() == 3);
}

TEST_CASE("a truncated or corrupt entry is rebuilt", "[cache][jit]") {
  TempCache tc("corrupt");
  std::string key;
  {
    jit::Compiler comp(tc.options());
    key = comp.compile(addDef(), {}, "sm_90a")->key;
  }
  fs::path file = tc.dir / (key + ".tkc");
  std::string good = readAll(file);
  for (std::string bad : {good.substr(0, good.size() / 2), std::string("garbage"),
                          good.substr(0, good.size() - 10) + "0123456789"}) {
    writeAll(file, bad);
    jit::Compiler comp(tc.options());
    auto c = comp.compile(addDef(), {}, "sm_90a");
    CHECK(c->source == jit::Compiled::Source::Compiled);
    CHECK(comp.stats().compiles == 1);
    CHECK(rt::DiskCache::decode(readAll(file))); // rewritten, valid
  }
}

TEST_CASE("an entry that is not a regular file of sane size is a miss, never a hang",
          "[cache][jit]") {
  TempCache tc("special");
  std::string key;
  {
    jit::Compiler comp(tc.options());
    key = comp.compile(addDef(), {}, "sm_90a")->key;
  }
  fs::path file = tc.dir / (key + ".tkc");
  auto recompiles = [&] {
    jit::Compiler comp(tc.options());
    auto c = comp.compile(addDef(), {}, "sm_90a");
    return c->source == jit::Compiled::Source::Compiled && comp.stats().compiles == 1;
  };
  // A FIFO nobody writes would block a reader forever.
  fs::remove(file);
  REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
  CHECK(recompiles());
  CHECK(fs::is_regular_file(file)); // the rebuilt entry replaced it
  // A link to a device that never ends.
  fs::remove(file);
  fs::create_symlink("/dev/zero", file);
  CHECK(recompiles());
  // A (sparse) file larger than any entry: not read at all.
  fs::remove(file);
  { std::ofstream(file, std::ios::binary) << "x"; }
  fs::resize_file(file, uintmax_t(2) << 30);
  CHECK(recompiles());
  CHECK(fs::file_size(file) < (uintmax_t(1) << 30));
}

TEST_CASE("a cache folder that cannot be written is one warning per process", "[cache][jit]") {
  TempCache tc("unwritable");
  fs::create_directories(tc.dir);
  fs::path blocker = tc.dir / "file";
  { std::ofstream(blocker) << "not a folder"; }
  // The folder would be below a regular file: even root cannot create it.
  rt::CacheOptions opts{(blocker / "cache").string(), true};
  fs::path log = tc.dir / "stderr.txt";
  // In a child process: the warning is once per process, and this test must
  // see the first.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    bool compiled = true;
    for (int i = 0; i < 2; ++i) {
      jit::Compiler comp(opts);
      compiled = compiled && comp.compile(addDef(), {}, "sm_90a")->source ==
                                 jit::Compiled::Source::Compiled;
    }
    std::fflush(stderr);
    ::_exit(compiled ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::string text = readAll(log);
  std::string warning = "tessera: warning: cannot write the kernel cache in " + opts.dir + " (";
  size_t first = text.find(warning);
  CHECK(first != std::string::npos);
  CHECK(text.find("tessera: warning", first + 1) == std::string::npos);
}

TEST_CASE("with the cache disabled nothing touches the disk", "[cache][jit]") {
  TempCache tc("disabled");
  jit::Compiler comp(tc.options(/*enabled=*/false));
  comp.compile(addDef(), {}, "sm_90a");
  CHECK(tc.files().empty());
  setenv("TESSERA_CACHE_DISABLE", "1", 1);
  CHECK_FALSE(rt::CacheOptions::fromEnvironment().enabled);
  setenv("TESSERA_CACHE_DISABLE", "0", 1);
  CHECK(rt::CacheOptions::fromEnvironment().enabled);
  unsetenv("TESSERA_CACHE_DISABLE");
  setenv("TESSERA_CACHE_DIR", "/tmp/somewhere", 1);
  CHECK(rt::CacheOptions::fromEnvironment().dir == "/tmp/somewhere");
  unsetenv("TESSERA_CACHE_DIR");
}

TEST_CASE("many threads asking for one kernel compile it once", "[cache][jit]") {
  TempCache tc("threads");
  jit::Compiler comp(tc.options());
  std::vector<std::shared_ptr<const jit::Compiled>> got(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { got[i] = comp.compile(addDef(), {}, "sm_90a"); });
  for (auto &t : threads)
    t.join();
  for (auto &g : got)
    CHECK(g.get() == got[0].get());
  CHECK(comp.stats().compiles == 1);
  CHECK(comp.stats().memoryHits == 7);
  // Different kernels at once, too.
  threads.clear();
  std::vector<std::string> names = {"softmax", "layer_norm", "matmul", "softmax"};
  for (auto &n : names)
    threads.emplace_back([&, n] { comp.compile(kernels::findKernel(n), {}, "sm_80"); });
  for (auto &t : threads)
    t.join();
  CHECK(comp.stats().compiles == 4);
  for (auto &f : tc.files())
    CHECK(rt::DiskCache::decode(readAll(f)));
}

TEST_CASE("several processes compiling one kernel share the cache safely", "[cache][jit]") {
  TempCache tc("processes");
  std::vector<pid_t> kids;
  for (int i = 0; i < 4; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      int rc = 1;
      try {
        jit::Compiler comp(tc.options());
        auto c = comp.compile(addDef(), {}, "sm_90a");
        rc = c->entry.ptx.find(".entry vector_add") != std::string::npos ? 0 : 1;
      } catch (...) {
      }
      _exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    waitpid(k, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto files = tc.files();
  REQUIRE(files.size() == 1); // one entry, no temporaries left behind
  CHECK(files[0].extension() == ".tkc");
  CHECK(rt::DiskCache::decode(readAll(files[0])));
}

TEST_CASE("a failed trace is reported, not written to disk, and remembered", "[cache][jit]") {
  TempCache tc("failure");
  jit::Compiler comp(tc.options());
  std::string msg = test::errorOf(
      [&] { comp.compile(addDef(), dsl::Params{{"BLOCK", "1000"}}, "sm_90a"); });
  CHECK(msg.find("VectorAdd.cpp") != std::string::npos);
  CHECK(msg.find("not a power of two") != std::string::npos);
  // The second request gets the same error without tracing again.
  CHECK(comp.stats().memoryHits == 0);
  CHECK(test::errorOf([&] { comp.compile(addDef(), dsl::Params{{"BLOCK", "1000"}}, "sm_90a"); }) ==
        msg);
  CHECK(comp.stats().memoryHits == 1);
  CHECK(comp.stats().compiles == 0);
  CHECK(tc.files().empty());
}
