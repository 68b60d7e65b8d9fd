//===- Driver.h - the CUDA Driver API, loaded at run time -----------------===//
//
// libcuda.so.1 is opened with dlopen, so Tessera builds and its CPU tests run
// on machines without a GPU or driver.  Only the entry points Tessera uses are
// resolved; each call's result is checked with `check`, which raises
// DriverError naming the operation and the driver's error name and text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Support/Error.h"

#include <cuda.h>
#include <string>

namespace tessera::rt {

/// A failure of the driver or of finding one.
class DriverError : public Error {
public:
  enum class Kind { NoDriver, NoDevice, TooOld, Call };
  DriverError(Kind kind, const std::string &msg) : Error(msg), kind(kind) {}
  Kind kind;
};

/// Entry points of the driver API (the `_v2` ABI where there is one).
struct Driver {
  decltype(&::cuInit) init;
  decltype(&::cuDriverGetVersion) driverGetVersion;
  decltype(&::cuDeviceGetCount) deviceGetCount;
  decltype(&::cuDeviceGet) deviceGet;
  decltype(&::cuDeviceGetName) deviceGetName;
  decltype(&::cuDeviceGetAttribute) deviceGetAttribute;
  decltype(&::cuDevicePrimaryCtxRetain) primaryCtxRetain;
  decltype(&::cuCtxSetCurrent) ctxSetCurrent;
  decltype(&::cuCtxSynchronize) ctxSynchronize;
  decltype(&::cuModuleLoadDataEx) moduleLoadDataEx;
  decltype(&::cuModuleUnload) moduleUnload;
  decltype(&::cuModuleGetFunction) moduleGetFunction;
  decltype(&::cuFuncSetAttribute) funcSetAttribute;
  decltype(&::cuLaunchKernel) launchKernel;
  decltype(&::cuOccupancyMaxActiveBlocksPerMultiprocessor) occupancyMaxActiveBlocks;
  decltype(&::cuMemAlloc_v2) memAlloc;
  decltype(&::cuMemFree_v2) memFree;
  decltype(&::cuMemcpyHtoD_v2) memcpyHtoD;
  decltype(&::cuMemcpyDtoH_v2) memcpyDtoH;
  decltype(&::cuMemsetD8_v2) memsetD8;
  decltype(&::cuEventCreate) eventCreate;
  decltype(&::cuEventDestroy_v2) eventDestroy;
  decltype(&::cuEventRecord) eventRecord;
  decltype(&::cuEventSynchronize) eventSynchronize;
  decltype(&::cuEventElapsedTime_v2) eventElapsedTime;
  decltype(&::cuStreamCreate) streamCreate;
  decltype(&::cuStreamDestroy_v2) streamDestroy;
  decltype(&::cuStreamSynchronize) streamSynchronize;
  decltype(&::cuStreamWaitEvent) streamWaitEvent;
  decltype(&::cuStreamIsCapturing) streamIsCapturing;
  decltype(&::cuLinkCreate_v2) linkCreate;
  decltype(&::cuLinkAddData_v2) linkAddData;
  decltype(&::cuLinkComplete) linkComplete;
  decltype(&::cuLinkDestroy) linkDestroy;
  decltype(&::cuMemGetInfo_v2) memGetInfo;
  decltype(&::cuTensorMapEncodeTiled) tensorMapEncodeTiled;
  decltype(&::cuGetErrorName) getErrorName;
  decltype(&::cuGetErrorString) getErrorString;
};

/// The driver, loaded and initialized once; throws DriverError(NoDriver)
/// when libcuda.so.1 is absent or cuInit fails.
const Driver &driver();

/// Throws DriverError(Call) "<what> failed: CUDA_ERROR_X (text)" unless
/// `result` is CUDA_SUCCESS.
void check(CUresult result, const char *what);

/// The first device, with its primary context made current.  Throws
/// DriverError(NoDevice) when there is none, DriverError(TooOld) for a GPU
/// older than sm_80.
struct Device {
  CUdevice handle = 0;
  std::string name;
  int major = 0, minor = 0, smCount = 0;
  int sharedPerBlock = 0;      ///< bytes, without opting in
  int sharedPerBlockOptin = 0; ///< bytes, the most a kernel may ask for
  int sharedPerSM = 0;         ///< bytes
  int l2Bytes = 0;
  int driverVersion = 0;       ///< e.g. 13000 for CUDA 13.0
  CUcontext context = nullptr; ///< its primary context
  /// PTX target for this device: sm_90a for 9.0, sm_80 for 8.0, ...
  std::string target() const;
};
Device openDevice(int ordinal = 0);
/// Makes the device's primary context current on the calling thread.
/// openDevice does so on its own thread; another thread that allocates or
/// launches (PyTorch's autograd runs backward passes on a thread of its own)
/// calls this first.
void makeCurrent(const Device &dev);

/// Oldest compute capability Tessera generates code for (Ampere, sm_80).
inline constexpr int kMinComputeMajor = 8;

} // namespace tessera::rt
