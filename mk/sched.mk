# make sched-sweep: every correct example driver under --schedule on 1, 2 and 4 processors,
# each policy, 20 seeds (tests/sched_sweep.sh; SEEDS=N and COUNT=N change the sweep).
.PHONY: sched-sweep
sched-sweep: $(TOOLS) drivers
	sh tests/sched_sweep.sh $(BUILD)/dmacoh $(BUILD)/drivers
