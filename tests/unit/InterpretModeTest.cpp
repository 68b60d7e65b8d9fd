//===- InterpretModeTest.cpp - TESSERA_INTERPRET=1 sends JIT launches to the CPU
#include "Common.h"

#include "tessera/jit/Jit.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdlib>

using namespace tessera;

TEST_CASE("with TESSERA_INTERPRET=1 the JIT runs kernels without a GPU", "[interp][jit]") {
  test::InterpretMode mode;
  jit::Jit jit; // no driver needed
  CHECK(jit.device().name == "CPU interpreter (TESSERA_INTERPRET=1)");
  auto add = jit.get(kernels::findKernel("vector_add"), {{"BLOCK", "128"}});
  int n = 300;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i)
    x[i] = float(i) * 0.5f, y[i] = float(n - i);
  rt::Buffer bx(n * 4, "f32"), by(n * 4, "f32"), bo(n * 4, "f32");
  bx.upload(x);
  by.upload(y);
  bo.fill(0xff);
  add->launch({unsigned((n + 127) / 128)}, {bx, by, bo, n});
  auto out = bo.download<float>(n);
  for (int i = 0; i < n; ++i)
    REQUIRE(out[i] == x[i] + y[i]);
  // Launch checks still apply.
  CHECK(test::errorOf([&] { add->launch({1}, {bx, by, bo, int64_t(n)}); }) ==
        "vector_add: argument 'n' (#4) is i32 but i64 was passed");
  // So do CUDA's grid limits, which the driver would enforce only at launch.
  CHECK(test::errorOf([&] { add->launch({1, 65536}, {bx, by, bo, n}); }) ==
        "vector_add: grid (1, 65536, 1) is larger than CUDA allows (2147483647, 65535, 65535)");
  CHECK(test::errorOf([&] { add->launch({1, 1, 70000}, {bx, by, bo, n}); }).find(
            "grid (1, 1, 70000) is larger") != std::string::npos);
}

TEST_CASE("in interpret mode an out-of-bounds launch is reported at the DSL line",
          "[interp][jit][errors]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // vector_add masks with n: lying about n reads past the buffers.
  auto add = jit.get(kernels::findKernel("vector_add"), {{"BLOCK", "128"}});
  rt::Buffer bx(64 * 4, "f32"), by(64 * 4, "f32"), bo(64 * 4, "f32");
  std::string msg = test::errorOf([&] { add->launch({1}, {bx, by, bo, 100}); });
  INFO(msg);
  CHECK(msg.find("VectorAdd.cpp:") != std::string::npos);
  // (x or y: C++ leaves the order of the two loads' operands open.)
  CHECK(msg.find("load: program (0, 0, 0) reads element 64 of argument '") != std::string::npos);
  CHECK(msg.find("', which has 64 elements: out of bounds") != std::string::npos);
}

TEST_CASE("in interpret mode a compiled (AOT) image refuses to run and says why",
          "[interp][aot][errors]") {
  test::InterpretMode mode;
  static const unsigned char ptx[] = ".version 8.0\n.target sm_90a\n";
  rt::KernelImage image{"sm_90a", false, ptx, sizeof ptx};
  KernelInfo info;
  info.name = "my_kernel";
  rt::Device device;
  device.major = 9;
  device.minor = 0;
  std::string msg = test::errorOf([&] { rt::loadKernelImage(&image, 1, info, device); });
  CHECK(msg.find("my_kernel: TESSERA_INTERPRET=1, but this kernel is a compiled image "
                 "(tessera-aot)") == 0);
}
