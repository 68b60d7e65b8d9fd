//===- Driver.cpp - the CUDA Driver API, loaded at run time ---------------===//
#include "tessera/rt/Driver.h"
#include "tessera/Target/Target.h"

#include <dlfcn.h>
#include <mutex>

namespace tessera::rt {

namespace {
template <class F> void resolve(void *lib, F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn)
    throw DriverError(DriverError::Kind::NoDriver,
                      std::string("the NVIDIA driver (libcuda.so.1) lacks ") + name +
                          "; it is too old for Tessera");
}

Driver load() {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw DriverError(DriverError::Kind::NoDriver,
                      "no NVIDIA driver: cannot load libcuda.so.1 (" + std::string(dlerror()) + ")");
  Driver d{};
  resolve(lib, d.init, "cuInit");
  resolve(lib, d.driverGetVersion, "cuDriverGetVersion");
  resolve(lib, d.deviceGetCount, "cuDeviceGetCount");
  resolve(lib, d.deviceGet, "cuDeviceGet");
  resolve(lib, d.deviceGetName, "cuDeviceGetName");
  resolve(lib, d.deviceGetAttribute, "cuDeviceGetAttribute");
  resolve(lib, d.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(lib, d.ctxSetCurrent, "cuCtxSetCurrent");
  resolve(lib, d.ctxSynchronize, "cuCtxSynchronize");
  resolve(lib, d.moduleLoadDataEx, "cuModuleLoadDataEx");
  resolve(lib, d.moduleUnload, "cuModuleUnload");
  resolve(lib, d.moduleGetFunction, "cuModuleGetFunction");
  resolve(lib, d.funcSetAttribute, "cuFuncSetAttribute");
  resolve(lib, d.launchKernel, "cuLaunchKernel");
  resolve(lib, d.occupancyMaxActiveBlocks, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  resolve(lib, d.tensorMapEncodeTiled, "cuTensorMapEncodeTiled");
  resolve(lib, d.memAlloc, "cuMemAlloc_v2");
  resolve(lib, d.memFree, "cuMemFree_v2");
  resolve(lib, d.memcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(lib, d.memcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(lib, d.memsetD8, "cuMemsetD8_v2");
  resolve(lib, d.eventCreate, "cuEventCreate");
  resolve(lib, d.eventDestroy, "cuEventDestroy_v2");
  resolve(lib, d.eventRecord, "cuEventRecord");
  resolve(lib, d.eventSynchronize, "cuEventSynchronize");
  resolve(lib, d.eventElapsedTime, "cuEventElapsedTime_v2");
  resolve(lib, d.streamCreate, "cuStreamCreate");
  resolve(lib, d.streamDestroy, "cuStreamDestroy_v2");
  resolve(lib, d.streamWaitEvent, "cuStreamWaitEvent");
  resolve(lib, d.streamIsCapturing, "cuStreamIsCapturing");
  resolve(lib, d.streamSynchronize, "cuStreamSynchronize");
  resolve(lib, d.linkCreate, "cuLinkCreate_v2");
  resolve(lib, d.linkAddData, "cuLinkAddData_v2");
  resolve(lib, d.linkComplete, "cuLinkComplete");
  resolve(lib, d.linkDestroy, "cuLinkDestroy");
  resolve(lib, d.memGetInfo, "cuMemGetInfo_v2");
  resolve(lib, d.getErrorName, "cuGetErrorName");
  resolve(lib, d.getErrorString, "cuGetErrorString");
  CUresult r = d.init(0);
  if (r == CUDA_ERROR_NO_DEVICE)
    throw DriverError(DriverError::Kind::NoDevice, "the NVIDIA driver reports no CUDA device");
  if (r != CUDA_SUCCESS) {
    const char *name = "?";
    d.getErrorName(r, &name);
    throw DriverError(DriverError::Kind::NoDriver,
                      std::string("cuInit failed: ") + name + " (is the NVIDIA driver loaded?)");
  }
  return d;
}
} // namespace

const Driver &driver() {
  static std::once_flag once;
  static Driver d;
  static std::string failure;
  static DriverError::Kind failureKind = DriverError::Kind::NoDriver;
  std::call_once(once, [] {
    try {
      d = load();
    } catch (const DriverError &e) {
      failure = e.what();
      failureKind = e.kind;
    }
  });
  if (!failure.empty())
    throw DriverError(failureKind, failure);
  return d;
}

void check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const char *name = "unknown error", *text = "";
  driver().getErrorName(result, &name);
  driver().getErrorString(result, &text);
  throw DriverError(DriverError::Kind::Call,
                    std::string(what) + " failed: " + name + " (" + text + ")");
}

std::string Device::target() const { return Target::forDevice(major, minor).name; }

Device openDevice(int ordinal) {
  const Driver &d = driver();
  int count = 0;
  check(d.deviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0)
    throw DriverError(DriverError::Kind::NoDevice, "no CUDA device found");
  if (ordinal < 0 || ordinal >= count)
    throw DriverError(DriverError::Kind::NoDevice,
                      "no CUDA device " + std::to_string(ordinal) + " (there are " +
                          std::to_string(count) + ")");
  Device dev;
  check(d.deviceGet(&dev.handle, ordinal), "cuDeviceGet");
  char name[256] = {};
  check(d.deviceGetName(name, sizeof name, dev.handle), "cuDeviceGetName");
  dev.name = name;
  auto attr = [&](int &out, CUdevice_attribute a) {
    check(d.deviceGetAttribute(&out, a, dev.handle), "cuDeviceGetAttribute");
  };
  attr(dev.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  attr(dev.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  attr(dev.smCount, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  attr(dev.sharedPerBlock, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
  attr(dev.sharedPerBlockOptin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  attr(dev.sharedPerSM, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
  attr(dev.l2Bytes, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
  check(d.driverGetVersion(&dev.driverVersion), "cuDriverGetVersion");
  if (dev.major < kMinComputeMajor)
    throw DriverError(DriverError::Kind::TooOld,
                      "GPU '" + dev.name + "' is sm_" + std::to_string(dev.major) +
                          std::to_string(dev.minor) + "; Tessera needs sm_80 (Ampere) or newer");
  check(d.primaryCtxRetain(&dev.context, dev.handle), "cuDevicePrimaryCtxRetain");
  check(d.ctxSetCurrent(dev.context), "cuCtxSetCurrent");
  return dev;
}

void makeCurrent(const Device &dev) {
  if (dev.context)
    check(driver().ctxSetCurrent(dev.context), "cuCtxSetCurrent");
}

} // namespace tessera::rt
