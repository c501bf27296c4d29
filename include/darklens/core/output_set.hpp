// A run's outputs appear together or not at all (docs/outputs.md).
//
// OutputDir, for commands that write a directory (analyze, classify,
// cluster, track): every file goes into a staging directory beside it,
// `.<name>.darklens-new`; publish() swaps the two with one
// renameat2(RENAME_EXCHANGE), so readers see the old directory or the new
// one, never a mix; finish() removes the old one. A run that also stores
// into the pattern database commits it between publish() and finish(), and
// writes a token in the directory's marker (`.darklens-run`): the next run
// on the same directory, finding the old one still there, asks the
// database whether that token was committed, and swaps the old directory
// back when it was not. So after any kill, and the recovery the next run
// does first, OUTDIR holds one whole run, and the database holds it exactly
// when OUTDIR shows it.
//
// OutputFiles, for commands that write files (features and its sidecars,
// gt build, patterns export): staged the same way, then a journal
// (`.<name>.darklens-journal`) names them and they are renamed into place;
// a run killed after the journal is rolled forward by the next one, one
// killed before it rolled back.
//
// Both take an advisory lock (`.<name>.darklens-lock` beside the target)
// for the whole run, clean what killed runs left (also `x.tmp-PID-N` files
// of processes that are gone), and refuse targets that are inputs of the
// run (by file identity, not by name).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace darklens {

/// Whether a run with this token was committed to the database at `db`
/// (the caller opens it; core does not know the pattern database).
using CommittedFn = std::function<bool(const std::string& db, const std::string& token)>;

/// Throws ParamError when `target` (an output file, or with `is_dir` a
/// directory the run replaces) is, or with is_dir holds, one of `inputs`
/// (files the run reads or updates, such as the database), compared by
/// device and inode. Missing inputs are ignored.
void refuse_replacing_inputs(const std::string& target, bool is_dir, const std::vector<std::string>& inputs);

class OutputDir {
 public:
  /// Locks `dir` (IoError when another run holds it), recovers what a
  /// killed run left (asking `committed` about a database, when the marker
  /// names one), refuses a `dir` holding anything but a darklens run's
  /// outputs (ParamError naming an entry; `known` are the file names this
  /// command writes, accepted without a marker) or holding an input, and
  /// creates the staging directory.
  OutputDir(const std::string& dir, const std::vector<std::string>& known, const std::vector<std::string>& inputs,
            const CommittedFn& committed = {});
  ~OutputDir();  // not finished: the staging directory is removed
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  /// Where to write output file `name` now.
  std::string path(const std::string& name) const;
  /// Writes the marker (with the database and the run's token, when the
  /// run stores one) and swaps the staging directory in. Throws IoError.
  void publish(const std::string& db = "", const std::string& token = "");
  /// Removes the previous outputs. Call after the database committed.
  void finish();

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, parent_, name_, staging_;
  int lock_fd_ = -1;
  bool published_ = false, finished_ = false;
};

class OutputFiles {
 public:
  /// Targets: the files the run writes, all in one directory (ParamError
  /// otherwise). Locks it for the first target's name, recovers, refuses
  /// inputs, creates the staging directory.
  OutputFiles(std::vector<std::string> targets, const std::vector<std::string>& inputs);
  ~OutputFiles();  // not committed: the staging directory is removed
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

  /// Where to write `target` now (the same file name, in the staging
  /// directory; files written beside it, such as .npy sidecars, are
  /// staged with it).
  std::string path(const std::string& target) const;
  /// Moves every staged file into place. Throws IoError.
  void commit();

 private:
  std::vector<std::string> targets_;
  std::string parent_, name_, staging_;
  int lock_fd_ = -1;
  bool committed_ = false;
};

/// A token naming one run uniquely (time, process, randomness), stored with
/// the run in the database and in its output directory's marker.
std::string new_run_token();

/// For tests of the rule above: with DARKLENS_CRASH_AT=N in the
/// environment, the Nth call in the process kills it with SIGKILL. Called
/// between every two steps that change files or the database.
void crash_point();

}  // namespace darklens
