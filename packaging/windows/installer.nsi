; ml-connector Windows installer (NSIS 3, 64-bit).
;
; Build (the bundle is the PyInstaller one-folder output, built on Windows):
;   makensis /DBUNDLE_DIR=C:\path\to\ml-connector /DVERSION=0.1.0 [/DOUTFILE=setup.exe] installer.nsi
;
; Install switches (see packaging/README.md):
;   (none)        interactive, for the current user, no admin rights:
;                 %LOCALAPPDATA%\Programs\ml-connector, Start menu of this user, HKCU uninstall entry
;   /ALLUSERS     for every user of the PC (needs an elevated prompt or SYSTEM):
;                 %ProgramFiles%\ml-connector, common Start menu, HKLM uninstall entry
;   /CURRENTUSER  the default, stated explicitly
;   /S            silent
;   /D=C:\dir     another folder (must be the LAST switch, unquoted, as NSIS requires)
; Uninstaller switches (uninstall.exe in the program folder):
;   /S            silent
;   /PURGE        also delete this user's database, backups and logs (kept by default)
;
; Running the installer over an existing install upgrades it in place: the program folder is
; replaced, the user's data (%LOCALAPPDATA%\ml-connector), the keychain entries and the IT
; deployment file (%ProgramData%\ml-connector\deploy.toml) are never touched.
;
; Exit codes: 0 done; 1 cancelled; 2 error; 740 /ALLUSERS without administrator rights;
; 32 a program file is in use (close ml-connector and run again).

Unicode true
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma

!ifndef BUNDLE_DIR
  !error "Pass the PyInstaller bundle folder: makensis /DBUNDLE_DIR=...\ml-connector installer.nsi"
!endif
!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef VERSION4
  !define VERSION4 "${VERSION}.0"
!endif
!ifndef OUTFILE
  !define OUTFILE "ml-connector-setup-${VERSION}.exe"
!endif
!ifndef ICON
  !define ICON "..\..\stnav_desktop\resources\icon.ico"
!endif

!define APP "ml-connector"
!define PUBLISHER "ml-connector"
!define GUI_EXE "stnav-desktop.exe"
!define CLI_EXE "stnav.exe"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"
!define ERROR_ELEVATION_REQUIRED 740
!define ERROR_SHARING_VIOLATION 32

!include MUI2.nsh
!include FileFunc.nsh
!include LogicLib.nsh
!include x64.nsh

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
; per-user by default: no UAC prompt. /ALLUSERS needs the caller to be elevated already.
RequestExecutionLevel user
ShowInstDetails show
ShowUninstDetails show
BrandingText "${APP} ${VERSION}"

VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${APP} desktop"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${APP} desktop installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${GUI_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP} now"
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Var AllUsers
Var Purge

!macro SetScope
  ${If} $AllUsers == 1
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
!macroend

!macro RequireAdmin
  UserInfo::GetAccountType
  Pop $0
  ${If} $0 != "Admin"
    ${IfNot} ${Silent}
      MessageBox MB_ICONSTOP "Installing for all users needs administrator rights.$\n$\nRun the installer from an elevated command prompt, or install for yourself only (without /ALLUSERS)."
    ${EndIf}
    SetErrorLevel ${ERROR_ELEVATION_REQUIRED}
    Quit
  ${EndIf}
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${APP} needs 64-bit Windows." /SD IDOK
    SetErrorLevel 2
    Quit
  ${EndIf}
  SetRegView 64
  ${GetParameters} $R0
  StrCpy $AllUsers 0
  ClearErrors
  ${GetOptions} $R0 "/ALLUSERS" $R1
  ${IfNot} ${Errors}
    StrCpy $AllUsers 1
  ${EndIf}
  ${If} $AllUsers == 1
    !insertmacro RequireAdmin
  ${EndIf}
  !insertmacro SetScope
  ; /D= wins; otherwise the folder of an earlier install (upgrade in place); otherwise the default
  ${If} $INSTDIR == ""
    ReadRegStr $R2 SHCTX "${UNINSTALL_KEY}" "InstallLocation"
    ${If} $R2 != ""
      StrCpy $INSTDIR $R2
    ${ElseIf} $AllUsers == 1
      StrCpy $INSTDIR "$PROGRAMFILES64\${APP}"
    ${Else}
      StrCpy $INSTDIR "$LOCALAPPDATA\Programs\${APP}"
    ${EndIf}
  ${EndIf}
FunctionEnd

; a running copy locks its files: say so instead of leaving a half-replaced folder
Function CheckNotRunning
  retry:
  ${If} ${FileExists} "$INSTDIR\${GUI_EXE}"
    ClearErrors
    FileOpen $0 "$INSTDIR\${GUI_EXE}" a
    ${If} ${Errors}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "${APP} is running. Close it (and any stnav command) and press Retry." /SD IDCANCEL IDRETRY retry
      SetErrorLevel ${ERROR_SHARING_VIOLATION}
      Quit
    ${EndIf}
    FileClose $0
  ${EndIf}
FunctionEnd

Section "ml-connector" SecMain
  SectionIn RO
  Call CheckNotRunning
  ; upgrade: replace the program folder's contents (never the user's data, which lives elsewhere)
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${GUI_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  SetOutPath "$INSTDIR"
  File /r "${BUNDLE_DIR}\*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortCut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\${GUI_EXE}" "" "$INSTDIR\${GUI_EXE}" 0 \
    SW_SHOWNORMAL "" "ServiceTitan purchasing into Microsoft Dynamics NAV / Business Central"

  ; Add/Remove Programs (HKCU for a per-user install, HKLM for all users)
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayName" "${APP} desktop"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${GUI_EXE},0"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallScope" "$AllUsers"
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

; ---------------------------------------------------------------------------------------------
Function un.onInit
  SetRegView 64
  ; which scope is this copy? The HKLM entry points at our folder for an all-users install.
  StrCpy $AllUsers 0
  ReadRegStr $R2 HKLM "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $R2 == $INSTDIR
    StrCpy $AllUsers 1
    !insertmacro RequireAdmin
  ${EndIf}
  ${GetParameters} $R0
  StrCpy $Purge 0
  ClearErrors
  ${GetOptions} $R0 "/PURGE" $R1
  ${IfNot} ${Errors}
    StrCpy $Purge 1
  ${EndIf}
  !insertmacro SetScope
FunctionEnd

Section "Uninstall"
  ; only what the installer put there: a folder the user pointed at an existing directory survives
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${GUI_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP}.lnk"
  DeleteRegKey SHCTX "${UNINSTALL_KEY}"
  ${If} $Purge == 1
    ; this user's database, backups, logs and settings (platformdirs: %LOCALAPPDATA%\ml-connector)
    SetShellVarContext current
    RMDir /r "$LOCALAPPDATA\${APP}"
    DetailPrint "Removed this user's data: $LOCALAPPDATA\${APP}"
    !insertmacro SetScope
  ${Else}
    DetailPrint "Kept this user's data (database, backups, logs); uninstall with /PURGE to remove it."
  ${EndIf}
SectionEnd
