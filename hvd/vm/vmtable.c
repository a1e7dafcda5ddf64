#include "vm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t table_cond = PTHREAD_COND_INITIALIZER;
static struct hv_vm *table;

const char *hv_vm_state_name(enum hv_vm_state s)
{
	switch (s) {
	case HV_VM_BOOTING: return "booting";
	case HV_VM_READY: return "ready";
	case HV_VM_STOPPED: return "stopped";
	case HV_VM_DESTROYING: return "destroying";
	}
	return "unknown";
}

void hv_table_lock(void)
{
	pthread_mutex_lock(&table_lock);
}
void hv_table_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}
void hv_table_wait(void)
{
	pthread_cond_wait(&table_cond, &table_lock);
}
void hv_table_changed(void)
{
	pthread_cond_broadcast(&table_cond);
}

struct hv_vm *hv_table_find_locked(const char *job)
{
	for (struct hv_vm *vm = table; vm; vm = vm->next)
		if (!strcmp(vm->d.job, job))
			return vm;
	return NULL;
}

void hv_table_add_locked(struct hv_vm *vm)
{
	vm->refs++;
	vm->next = table;
	table = vm;
	hv_table_changed();
}

void hv_table_remove_locked(struct hv_vm *vm)
{
	for (struct hv_vm **p = &table; *p; p = &(*p)->next)
		if (*p == vm) {
			*p = vm->next;
			vm->next = NULL;
			vm->refs--; /* the table's own reference; callers still hold one */
			break;
		}
	hv_table_changed();
}

void hv_table_foreach_locked(void (*fn)(struct hv_vm *, void *), void *ud)
{
	for (struct hv_vm *vm = table; vm; vm = vm->next)
		fn(vm, ud);
}

struct hv_vm *hv_vm_new(void)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->agent_fd = -1;
	vm->next_stream = 1;
	pthread_mutex_init(&vm->agent_wlock, NULL);
	pthread_mutex_init(&vm->slock, NULL);
	vj_reader_init(&vm->agent_rd, VJ_FRAME_MAX);
	return vm;
}

void hv_vm_ref_locked(struct hv_vm *vm)
{
	vm->refs++;
}

void hv_vm_unref(struct hv_vm *vm)
{
	pthread_mutex_lock(&table_lock);
	int left = --vm->refs;
	pthread_mutex_unlock(&table_lock);
	if (left > 0)
		return;
	if (vm->agent_fd >= 0)
		close(vm->agent_fd);
	vj_reader_free(&vm->agent_rd);
	pthread_mutex_destroy(&vm->agent_wlock);
	pthread_mutex_destroy(&vm->slock);
	free(vm);
}

bool hv_vm_mark_stopped(struct hv_vm *vm)
{
	hv_table_lock();
	bool was_ready = vm->state == HV_VM_READY;
	if (was_ready)
		vm->state = HV_VM_STOPPED;
	hv_table_changed();
	hv_table_unlock();
	return was_ready;
}
