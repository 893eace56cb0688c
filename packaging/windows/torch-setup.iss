; Inno Setup 6.3+ script: installs dist\torch-setup\ (the onedir build) and its Start-menu entry.
;   iscc /DAppVersion=0.1.0 packaging\windows\torch-setup.iss        -> dist\TorchSetup-0.1.0-windows-x64-setup.exe
;   with signing: iscc /DAppVersion=0.1.0 /DSignTool=torchsign "/Storchsign=signtool sign /fd sha256 /tr http://timestamp.digicert.com /td sha256 /f $qcert.pfx$q /p PASSWORD $f" ...
;   (see SIGNING.md; the release workflow signs the exes and the installer with signtool instead).
;
; Unattended installs for admins (all standard Inno Setup switches):
;   TorchSetup-<v>-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /ALLUSERS /DIR="C:\Tools\Torch Setup" /TASKS="addtopath" /LOG="C:\Logs\torch-setup-install.log"
;   per-user, no admin rights: /VERYSILENT /SUPPRESSMSGBOXES /CURRENTUSER
;   uninstall: "%ProgramFiles%\Torch Setup\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES
; Exit code 0 = installed; see Inno Setup's "Setup Exit Codes" for the others.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Torch Setup"
#define DistDir "..\..\dist\torch-setup"

[Setup]
; Never change AppId: upgrades and uninstall find earlier installs by it.
AppId={{6C0B6F0E-5E7B-4E8B-9C57-2A0D9C3F7E41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Torch Setup developers
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Admins can install for all users; anyone else gets a per-user install without a UAC prompt.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=TorchSetup-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\icons\torch-setup.ico
UninstallDisplayIcon={app}\torch-setup.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes
#ifdef SignTool
SignTool={#SignTool}
SignedUninstaller=yes
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add torch-setup-cli to PATH (for terminals and scripts)"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\torch-setup.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\torch-setup.exe"; Tasks: desktopicon

[Registry]
; PATH entry: per-user (HKCU) for a per-user install, machine-wide (HKLM) for an all-users install.
Root: HKA; Subkey: "{code:EnvKey}"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\torch-setup.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the app wrote next to itself; environments and logs in the user's folders are never touched.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
function EnvKey(Param: String): String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Paths: String;
  RootKey: Integer;
begin
  if IsAdminInstallMode then RootKey := HKEY_LOCAL_MACHINE else RootKey := HKEY_CURRENT_USER;
  if not RegQueryStringValue(RootKey, EnvKey(''), 'Path', Paths) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
