//===- Ptxas.h - run NVIDIA's ptxas on generated PTX ----------------------===//
#pragma once

#include <optional>
#include <string>

namespace tessera {

/// What `ptxas -v` said about one kernel.
struct PtxasReport {
  int exitCode = -1;
  std::string log;        ///< everything ptxas printed
  int registers = -1;     ///< "Used N registers"
  int sharedBytes = -1;   ///< "N bytes smem"
  int spillStoreBytes = 0; ///< "N bytes spill stores"
  int spillLoadBytes = 0;  ///< "N bytes spill loads"
  /// Places where ptxas changed the wgmma code it was given: injected a
  /// warpgroup.arrive/wait (C7519, C7520) or serialized the wgmma pipeline
  /// (C7510, C7515): each is a fence or wait the generated code lacked.
  int wgmmaFixups = 0;
};

/// Path of ptxas: $TESSERA_PTXAS, else /usr/local/cuda/bin/ptxas, else `ptxas`
/// on PATH; nullopt when none exists.
std::optional<std::string> findPtxas();

/// Assembles `ptx` for `target` (e.g. "sm_90a") with `ptxas -v`, writing the
/// cubin to `cubinPath` (or discarding it when empty).
PtxasReport runPtxas(const std::string &ptxasPath, const std::string &ptx,
                     const std::string &target, const std::string &cubinPath = "");

} // namespace tessera
