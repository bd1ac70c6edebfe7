<#
.SYNOPSIS
  Install the PST branch agent from this offline bundle (no internet needed) and start it at boot.

.DESCRIPTION
  Run in an administrator PowerShell, in the unpacked bundle:

    powershell -ExecutionPolicy Bypass -File .\install.ps1 -InitArgs @(
        '--branch', '1222', '--name', 'BPS Kabupaten Labuhanbatu Selatan',
        '--central', 'tcp://pst-sync.example.go.id:5555',
        '--server-key=<central public key>', '--id-hash-key', '<central ID_HASH_KEY>')

  Steps: a virtual environment in -Prefix, the agent installed from .\wheels with no package
  index, `pst-branch-agent init` (skipped when -DataDir is already set up, e.g. on an upgrade),
  then a scheduled task "PST branch agent" that runs `pst-branch-agent run` at startup as SYSTEM
  and restarts it when it stops.

.PARAMETER Prefix
  The virtual environment (default C:\PST\agent).
.PARAMETER DataDir
  The agent's data (default C:\PST\data).
.PARAMETER Python
  The Python launcher and version (default: py -3.12, else py -3.11, else python).
.PARAMETER InitArgs
  The options for `pst-branch-agent init` (README.txt).
.PARAMETER NoService
  Install and init only; start it yourself with: pst-branch-agent run --data-dir DIR
#>
param(
    [string]$Prefix = "C:\PST\agent",
    [string]$DataDir = "C:\PST\data",
    [string[]]$Python = @(),
    [string[]]$InitArgs = @(),
    [switch]$NoService
)
$ErrorActionPreference = "Stop"
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path
$Wheels = Join-Path $Here "wheels"

function Fail($Message) { Write-Error "install.ps1: $Message"; exit 2 }

if (-not (Test-Path $Wheels)) { Fail "no wheels folder next to install.ps1: unpack the whole bundle" }

if ($Python.Count -eq 0) {
    foreach ($candidate in @(@("py", "-3.12"), @("py", "-3.11"), @("python"))) {
        try {
            $exe = $candidate[0]; $rest = @($candidate | Select-Object -Skip 1)
            & $exe @rest -c "import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)" 2>$null
            if ($LASTEXITCODE -eq 0) { $Python = $candidate; break }
        } catch { }
    }
    if ($Python.Count -eq 0) { Fail "no Python 3.11 or 3.12 found: install it from the bundle's README.txt note, or give -Python" }
}
$PyExe = $Python[0]; $PyArgs = @($Python | Select-Object -Skip 1)

Write-Host "== virtual environment in $Prefix"
& $PyExe @PyArgs -m venv $Prefix
if ($LASTEXITCODE -ne 0) { Fail "could not create $Prefix" }
$VenvPython = Join-Path $Prefix "Scripts\python.exe"
& $VenvPython -m pip install --quiet --no-index --find-links $Wheels "pst-helpdesk[agent]"
if ($LASTEXITCODE -ne 0) { Fail "installing from $Wheels failed (see above); this bundle is for Windows amd64, Python 3.11 or 3.12" }
$Agent = Join-Path $Prefix "Scripts\pst-branch-agent.exe"

if (Test-Path (Join-Path $DataDir "agent.toml")) {
    Write-Host "== $DataDir is already set up; init skipped (an upgrade keeps its data and keys)"
} elseif ($InitArgs.Count -gt 0) {
    Write-Host "== pst-branch-agent init --data-dir $DataDir"
    & $Agent init --data-dir $DataDir @InitArgs
    if ($LASTEXITCODE -ne 0) { Fail "init failed (see above); nothing is scheduled" }
} else {
    Fail "no -InitArgs and $DataDir is not set up: give --branch, --central, --server-key and --id-hash-key"
}

if ($NoService) {
    Write-Host "Installed. Start it with: $Agent run --data-dir $DataDir"
    exit 0
}

Write-Host "== scheduled task 'PST branch agent' (at startup, as SYSTEM, restarted on failure)"
$action = New-ScheduledTaskAction -Execute $Agent -Argument "run --data-dir `"$DataDir`""
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
    -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
    -StartWhenAvailable
Register-ScheduledTask -TaskName "PST branch agent" -Action $action -Trigger $trigger `
    -Principal $principal -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName "PST branch agent"
Write-Host "Started; it starts at every boot. Check it: $Agent status --data-dir $DataDir"
Write-Host "Open the agent's port to the office LAN: New-NetFirewallRule -DisplayName 'PST branch agent' -Direction Inbound -Protocol TCP -LocalPort 8080 -Action Allow -Profile Private"
