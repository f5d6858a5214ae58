"""The local process runner with real child processes: a crashing process is started again while
the others keep running, and SIGTERM stops them all."""
import signal
import subprocess
import sys
import time


def test_a_process_that_dies_is_restarted_and_the_others_keep_running(tmp_path):
    marker = tmp_path / "starts"
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"crashy: echo started >> {marker}; exit 3\nsteady: sleep 61.7\n")
    runner = subprocess.Popen([sys.executable, "-m", "chassis.procfile", str(procfile)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not marker.exists() or len(marker.read_text().split()) < 2):
            time.sleep(0.2)
        assert len(marker.read_text().split()) >= 2, "the crashing process was started again"
        assert runner.poll() is None, "the runner (and the steady process) kept running"
        steady = subprocess.run(["pgrep", "-f", "sleep 61.7"], capture_output=True, text=True).stdout.split()
        assert steady
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0
    assert "exited with 3; starting it again" in output
    assert not set(steady) & set(subprocess.run(["pgrep", "-f", "sleep 61.7"], capture_output=True,
                                                 text=True).stdout.split()), "SIGTERM stopped every child"
