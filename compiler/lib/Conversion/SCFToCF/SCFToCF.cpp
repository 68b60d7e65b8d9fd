//===- SCFToCF.cpp - scf to cf, last operation first ----------------------===//
//
// MLIR's own patterns (populateSCFToControlFlowConversionPatterns) under the
// greedy driver instead of the dialect conversion: see the pass description
// in Passes.td for why the order matters (an scf.if's lowering moves the
// rest of its block; visited from the block's end that rest is short).
//
//===----------------------------------------------------------------------===//
#include "tessera/Conversion/Passes.h"

#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tessera {
#define GEN_PASS_DEF_CONVERTSCFTOCFBOTTOMUP
#include "tessera/Conversion/Passes.h.inc"
} // namespace tessera

using namespace mlir;

namespace {

struct ConvertSCFToCFBottomUpPass
    : tessera::impl::ConvertSCFToCFBottomUpBase<ConvertSCFToCFBottomUpPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSCFToControlFlowConversionPatterns(patterns);
    // The greedy driver's default traversal pops its worklist from the end
    // of a post-order walk: later operations of a block before earlier ones.
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(false)
        .enableFolding(false)
        .enableConstantCSE(false)
        .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config))) {
      getOperation().emitError("scf to cf did not converge");
      return signalPassFailure();
    }
    // The dialect conversion would fail on anything left; so does this.
    WalkResult left = getOperation().walk([](Operation *op) {
      if (isa<scf::SCFDialect>(op->getDialect())) {
        op->emitOpError("was not lowered to cf");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
