/* srun --multi-prog gives each task its own argv array, built by slurmstepd
 * from the configuration; swapping argv[0] in the step's array (remote.c)
 * then changes nothing and the tasks would run on the host, outside the VM.
 * 22.05 shows the plugin no flag for it, but such a step's argv has a shape
 * of its own: {config path, config text}. Recognise that shape so the job
 * fails with a reason instead of silently leaving the VM. */
#include <ctype.h>
#include <string.h>

#include "vmjob.h"

/* A config line starts with "*" or a task list such as "0-3,7". */
static bool task_list_first(const char *line, const char *end)
{
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	if (line == end || *line == '#')
		return true; /* blank or comment: neutral */
	if (*line == '*')
		return true;
	if (!isdigit((unsigned char)*line))
		return false;
	while (line < end && (isdigit((unsigned char)*line) || *line == ',' || *line == '-'))
		line++;
	return line < end && (*line == ' ' || *line == '\t');
}

bool vmjob_looks_multiprog(int argc, char **argv)
{
	if (argc != 2 || !argv[1] || !strchr(argv[1], '\n'))
		return false;
	int lines = 0;
	for (const char *p = argv[1]; *p;) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		if (!task_list_first(p, end))
			return false;
		if (end > p)
			lines++;
		p = nl ? nl + 1 : end;
	}
	return lines > 0;
}
