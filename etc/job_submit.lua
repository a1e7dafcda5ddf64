--[[ vmjob's job_submit rule (slurm.conf JobSubmitPlugins=lua, this file as
/etc/slurm/job_submit.lua): a job asking for a VM image the site policy
does not allow it is refused at submission, with the same line it would
get at start. The decision is not made here: hvctl decides from the same
policy file with hvd's own parser (hvctl policy check --file), so the two
never disagree. hvd still decides at start (it is the authority; this
rule only says it early). A job that asks for no image is left to hvd:
a partition's default image is chosen when the job starts. ]]

local POLICY = "/etc/vmjob/policy.conf"
local HVCTL = "@BINDIR@/hvctl"

-- The image the job asks for: the SPANK plugin puts it in the job's
-- control environment (VMJOB_IMAGE, SPANK_VMJOB_IMAGE in the prolog).
local function asked_image(job_desc)
	local env = job_desc.spank_job_env
	if env == nil then return nil end
	for _, kv in pairs(env) do
		local v = string.match(kv, "^VMJOB_IMAGE=(.*)$") or string.match(kv, "^SPANK_VMJOB_IMAGE=(.*)$")
		if v ~= nil and v ~= "" then return v end
	end
	return nil
end

local function default_partition(part_list)
	for name, part in pairs(part_list) do
		if part.flag_default == 1 then return name end
	end
	return nil
end

-- Arguments for a shell: names are checked by hvctl; quote anyway.
local function q(s) return "'" .. string.gsub(s, "'", "'\\''") .. "'" end

function slurm_job_submit(job_desc, part_list, submit_uid)
	local image = asked_image(job_desc)
	if image == nil then return slurm.SUCCESS end
	local f = io.open(POLICY, "r")
	if f == nil then return slurm.SUCCESS end -- no policy: nothing to refuse
	f:close()
	local user = job_desc.user_name
	local part = job_desc.partition or default_partition(part_list)
	if user == nil or part == nil then return slurm.SUCCESS end
	local cmd = HVCTL .. " policy check --file " .. q(POLICY) .. " --user " .. q(user) ..
		" --partition " .. q(string.match(part, "^[^,]+")) .. " --image " .. q(image)
	if job_desc.account ~= nil then cmd = cmd .. " --account " .. q(job_desc.account) end
	if job_desc.qos ~= nil then cmd = cmd .. " --qos " .. q(job_desc.qos) end
	local out = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
	local text = out:read("*a")
	out:close()
	local rc = string.match(text, "rc=(%d+)%s*$")
	if rc == "1" then
		local why = string.match(text, "hvctl: ([^\n]*)") or "refused by the site policy"
		slurm.log_user("vmjob: %s", why)
		slurm.log_info("vmjob: job of %s refused at submission: %s", user, why)
		-- "Access/permission denied" after our line, not "Unspecified error"
		return slurm.ESLURM_ACCESS_DENIED or slurm.ERROR
	end
	if rc ~= "0" then
		-- hvctl missing or broken: say so in the log, let hvd decide at start.
		slurm.log_error("vmjob: cannot check the site policy (%s): %s", cmd, text)
	end
	return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	return slurm.SUCCESS
end

return slurm.SUCCESS
