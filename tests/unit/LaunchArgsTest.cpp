//===- LaunchArgsTest.cpp - bad launch arguments are caught before launch -===//
#include "Common.h"

#include "tessera/rt/Runtime.h"

using namespace tessera;
using rt::Arg;
using rt::DevicePtr;

namespace {
KernelInfo sig() {
  return {"k",
          {{"x", "ptr<f16>", 16, 1}, {"n", "i32", 0, 16}, {"scale", "f32", 0, 1},
           {"big", "i64", 0, 1}},
          128, 0, 0};
}
std::string argError(std::vector<Arg> args) {
  return test::errorOf([&] { rt::checkLaunchArgs(sig(), args); });
}
} // namespace

TEST_CASE("matching arguments pass", "[runtime][launch]") {
  CHECK(argError({DevicePtr{0x10000, "f16"}, int32_t(32), 1.5f, int64_t(7)}) == "");
  CHECK(argError({DevicePtr{0x10000, nullptr}, int32_t(0), 1.5f, int64_t(7)}) == "");
}

TEST_CASE("each mismatch names the argument", "[runtime][launch]") {
  CHECK(argError({DevicePtr{0x10000, "f16"}, int32_t(32), 1.5f}) ==
        "k: expected 4 arguments (ptr<f16> x, i32 n, f32 scale, i64 big), got 3");
  CHECK(argError({int32_t(1), int32_t(32), 1.5f, int64_t(7)}) ==
        "k: argument 'x' (#1) is ptr<f16> but i32 was passed");
  CHECK(argError({DevicePtr{0x10000, "f32"}, int32_t(32), 1.5f, int64_t(7)}) ==
        "k: argument 'x' (#1) points to f16 but a buffer of f32 was passed");
  CHECK(argError({DevicePtr{0x10008, "f16"}, int32_t(32), 1.5f, int64_t(7)}) ==
        "k: argument 'x' (#1) must be 16-byte aligned (the kernel was specialized for it); got "
        "address 0x10008");
  CHECK(argError({DevicePtr{0, "f16"}, int32_t(32), 1.5f, int64_t(7)}) ==
        "k: argument 'x' (#1) is a null pointer");
  CHECK(argError({DevicePtr{0x10000, "f16"}, int64_t(32), 1.5f, int64_t(7)}) ==
        "k: argument 'n' (#2) is i32 but i64 was passed");
  CHECK(argError({DevicePtr{0x10000, "f16"}, int32_t(33), 1.5f, int64_t(7)}) ==
        "k: argument 'n' (#2) = 33 must be a multiple of 16 (the kernel was specialized for it)");
  CHECK(argError({DevicePtr{0x10000, "f16"}, int32_t(32), int32_t(1), int64_t(7)}) ==
        "k: argument 'scale' (#3) is f32 but i32 was passed");
}

TEST_CASE("a stride read through a TMA tensor map must be positive", "[runtime][launch]") {
  // x is read with TMA: a window of rows n apart (dims: unbounded, n).
  KernelInfo info = sig();
  TensorMapSpec m;
  m.base = 0;
  m.dims[1] = 1;
  m.strides[0] = 1;
  m.box[0] = 64;
  m.box[1] = 64;
  m.swizzle = 128;
  info.tensorMaps = {m};
  auto err = [&](int32_t n) {
    std::vector<Arg> args{DevicePtr{0x10000, "f16"}, n, 1.5f, int64_t(7)};
    return test::errorOf([&] { rt::checkLaunchArgs(info, args); });
  };
  CHECK(err(32) == "");
  CHECK(err(0) == "k: argument 'n' (#2) = 0 must be positive ('x' is read with TMA on this GPU)");
  CHECK(err(-16) == "k: argument 'n' (#2) = -16 must be positive ('x' is read with TMA on this GPU)");
}

TEST_CASE("a missing driver or device is reported plainly", "[runtime][driver]") {
  // Where a driver and GPU exist this passes trivially; on CI (no driver)
  // it checks the message users see.
  try {
    rt::openDevice();
    SUCCEED("a driver and a device are present");
  } catch (const rt::DriverError &e) {
    std::string msg = e.what();
    if (e.kind == rt::DriverError::Kind::NoDriver)
      CHECK(msg.rfind("no NVIDIA driver: cannot load libcuda.so.1", 0) == 0);
    else
      CHECK(e.kind == rt::DriverError::Kind::NoDevice);
  }
}
